// placeholder until the real example lands (written by the lead so the workspace parses)
fn main() {}
