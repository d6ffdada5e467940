#[test]
fn fails() -> Result<(), String> {
    Err("deliberate".into())
}
#[test]
fn passes() -> Result<(), String> {
    std::thread::sleep(std::time::Duration::from_millis(200));
    Ok(())
}
