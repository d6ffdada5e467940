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

impl Slot {
    /// Every slot, in start order.
    pub const ALL: [Slot; 4] = [Slot::Egress, Slot::Pipelock, Slot::GitGate, Slot::Supervise];

    /// The name used in `CLAUDE_BOTTLE_SIDECAR_DAEMONS`, in log prefixes and in notes.
    pub const fn name(self) -> &'static str {
        match self {
            Slot::Egress => "egress",
            Slot::Pipelock => "pipelock",
            Slot::GitGate => "git-gate",
            Slot::Supervise => "supervise",
        }
    }

    /// The variable that overrides this slot's command.
    pub const fn command_variable(self) -> &'static str {
        match self {
            Slot::Egress => "CLAUDE_BOTTLE_SIDECAR_CMD_EGRESS",
            Slot::Pipelock => "CLAUDE_BOTTLE_SIDECAR_CMD_PIPELOCK",
            Slot::GitGate => "CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE",
            Slot::Supervise => "CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE",
        }
    }

    /// The production command, used when the override variable is unset.
    pub const fn default_command(self) -> &'static str {
        match self {
            Slot::Egress => "/app/egress-entrypoint.sh",
            Slot::Pipelock => "/usr/local/bin/pipelock run --config /etc/pipelock.yaml --listen 0.0.0.0:8888",
            Slot::GitGate => "/git-gate-entrypoint.sh",
            Slot::Supervise => "python3 /app/supervise_server.py",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Slot> {
        Slot::ALL.into_iter().find(|slot| slot.name().as_bytes() == name)
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
        Slot::ALL.into_iter().map(move |slot| (slot, self.get(slot)))
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
