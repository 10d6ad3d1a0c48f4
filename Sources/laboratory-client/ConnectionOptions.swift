import ArgumentParser

/// The options every command that connects shares: name, password file and server trust.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Your display name (default: the last one given to connect, or saved with /rename --save).")
    var name: String?

    @Option(help: "A file whose first line is the server password (it takes precedence over LABORATORY_PASSWORD).")
    var passwordFile: String?

    @Option(help: "The known-hosts file (default: ~/.config/laboratory/known_hosts, or under $XDG_CONFIG_HOME).")
    var knownHosts: String?

    @Option(help: "Accept only a server whose key has this fingerprint (SHA256:...).")
    var fingerprint: String?

    @Flag(help: "Trust and record a server key seen for the first time without asking.")
    var acceptNew = false
}
