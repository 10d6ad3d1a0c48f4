import ArgumentParser

/// Where chat keeps its rooms: in memory (the default, one process) or in PostgreSQL, shared by
/// every server on the same database. Like every setting, each can also come from the
/// environment or the `--config` file; ``ChatStoreSettings`` merges and checks them.
struct ChatStoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Keep chat in this PostgreSQL database (postgres://user[:password]@host[:port]/database), shared "
                + "by every server given the same one: durable history and numbering, presence across servers "
                + "(Docs/CHAT_STORE.md). Prefer LABORATORY_CHAT_STORE or the file for a URL with a password. "
                + "Default: in memory, this process only.",
            valueName: "url"))
    var chatStore: String?

    @Option(
        help: ArgumentHelp(
            "Seconds the chat store keeps an event (besides the last \(ChatStoreSettings.historySizeNote) per room); "
                + "0 for no age limit (default \(Int(ChatStoreSettings.defaultHistoryAge)), 7 days). Needs --chat-store.",
            valueName: "seconds"))
    var chatHistoryAge: Double?

    @Option(
        help: ArgumentHelp(
            "Events the chat store keeps per room, the age limit aside: from \(ChatStoreSettings.replayWindow) "
                + "(what a resuming client can be replayed) to \(ChatStoreSettings.maximumHistoryCount) "
                + "(default \(ChatStoreSettings.storeWindow)). Needs --chat-store.",
            valueName: "count"))
    var chatHistoryCount: Int?

    /// The checks of each value on its own; ``ChatStoreSettings`` checks them with the other sources.
    func validate() throws {
        if let chatHistoryAge { try OptionRange.check(seconds: chatHistoryAge, positive: false, "--chat-history-age") }
        if let chatHistoryCount, let problem = ChatStoreSettings.countProblem(chatHistoryCount, "--chat-history-count")
        {
            throw ValidationError(problem)
        }
    }
}
