//! The four fixed daemon slots and a table keyed by them.

/// A daemon slot. The declaration order is the start order: egress first, so
/// pipelock's upstream is listening before pipelock connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Egress,
    Pipelock,
    GitGate,
    Supervise,
}

/// Everything fixed about a slot, in one place: its name, its part of the
/// names of its variables, and its production command.
pub struct SlotSpec {
    /// The name used in `CLAUDE_BOTTLE_SIDECAR_DAEMONS`, in log prefixes and in notes.
    pub name: &'static str,
    /// What ends the names of its variables: `CMD_`, `USER_` and `PRIVATE_`
    /// (after `CLAUDE_BOTTLE_SIDECAR_`) and this make them
    /// ([`crate::logic::config::Variable::short_name`]). The binary keeps
    /// each piece once.
    pub variable: &'static str,
    /// The production command, used when the override variable is unset.
    pub default_command: &'static str,
}

/// A slot's spec; `$var` is its part of the variable names.
macro_rules! spec {
    ($name:literal, $var:literal, $command:literal) => {
        SlotSpec { name: $name, variable: $var, default_command: $command }
    };
}

const EGRESS: SlotSpec = spec!("egress", "EGRESS", "/app/egress-entrypoint.sh");
const PIPELOCK: SlotSpec =
    spec!("pipelock", "PIPELOCK", "/usr/local/bin/pipelock run --config /etc/pipelock.yaml --listen 0.0.0.0:8888");
const GIT_GATE: SlotSpec = spec!("git-gate", "GIT_GATE", "/git-gate-entrypoint.sh");
const SUPERVISE: SlotSpec = spec!("supervise", "SUPERVISE", "python3 /app/supervise_server.py");

impl Slot {
    /// Every slot, in start order. Loops take it by reference (`&Slot::ALL`,
    /// `.iter()`): by value, each loop copies the array into an iterator
    /// that keeps its own range, 368 bytes over the init's loops.
    pub const ALL: [Slot; 4] = [Slot::Egress, Slot::Pipelock, Slot::GitGate, Slot::Supervise];

    /// The slot's table row, by its index (a match made a table of
    /// pointers to the rows).
    pub fn spec(self) -> &'static SlotSpec {
        static SPECS: [SlotSpec; 4] = [EGRESS, PIPELOCK, GIT_GATE, SUPERVISE];
        // Always there: a slot is an index below 4.
        SPECS.get(self as usize).unwrap_or(&EGRESS)
    }

    // Not inlined (nor `variable`): a row's address at each of their many
    // callers costs more, most on aarch64.
    #[inline(never)]
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Its part of the names of its variables (`GIT_GATE`).
    #[inline(never)]
    pub fn variable(self) -> &'static str {
        self.spec().variable
    }

    pub fn default_command(self) -> &'static str {
        self.spec().default_command
    }

    pub fn from_name(name: &[u8]) -> Option<Slot> {
        Slot::ALL.iter().copied().find(|slot| slot.name().as_bytes() == name)
    }
}

/// One value per slot. Access goes through `match`, so no index can be out of
/// range and no panic path exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerSlot<T> {
    pub egress: T,
    pub pipelock: T,
    pub git_gate: T,
    pub supervise: T,
}

impl<T> PerSlot<T> {
    pub fn from_fn(mut make: impl FnMut(Slot) -> T) -> Self {
        PerSlot {
            egress: make(Slot::Egress),
            pipelock: make(Slot::Pipelock),
            git_gate: make(Slot::GitGate),
            supervise: make(Slot::Supervise),
        }
    }

    pub fn get(&self, slot: Slot) -> &T {
        match slot {
            Slot::Egress => &self.egress,
            Slot::Pipelock => &self.pipelock,
            Slot::GitGate => &self.git_gate,
            Slot::Supervise => &self.supervise,
        }
    }

    pub fn get_mut(&mut self, slot: Slot) -> &mut T {
        match slot {
            Slot::Egress => &mut self.egress,
            Slot::Pipelock => &mut self.pipelock,
            Slot::GitGate => &mut self.git_gate,
            Slot::Supervise => &mut self.supervise,
        }
    }

    /// The slots in start order, each with its value.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &T)> {
        Slot::ALL.iter().map(move |&slot| (slot, self.get(slot)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_start_order() {
        let names: Vec<&str> = Slot::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["egress", "pipelock", "git-gate", "supervise"]);
        for slot in Slot::ALL {
            assert_eq!(Slot::from_name(slot.name().as_bytes()), Some(slot));
        }
        assert_eq!(Slot::from_name(b"Egress"), None);
        assert_eq!(Slot::from_name(b"git_gate"), None);
    }

    #[test]
    fn per_slot_get_matches_from_fn() {
        let table = PerSlot::from_fn(|slot| slot.name().len());
        for slot in Slot::ALL {
            assert_eq!(*table.get(slot), slot.name().len());
        }
    }
}
