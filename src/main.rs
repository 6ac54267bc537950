fn main() {
    std::process::exit(medfm_robust::cli::main());
}
