/// The chat service's limits; each breach is answered with an error saying which limit.
public struct ChatLimits: Sendable, Hashable {
    /// Events each room keeps for replay on join, when the rooms are in this process's memory
    /// (``ChatService/init(limits:)``): a `join` with `after` replays up to this many. Default 100.
    public var historySize = 100
    /// The most events a `join` with `after` replays when the rooms are in a ``ChatStore``
    /// (``ChatService/init(limits:store:)``): the newest ones, and at most 512 KiB of them, so
    /// that a replay stays within the slow-consumer bound; older ones are reported missed. The
    /// store keeps more per room (its own setting), so that a server that falls behind a busy room
    /// catches up from it. Default 1,000: a client whose server died resumes on another one with
    /// nothing missed in a busy room.
    public var storeReplayLimit = 1_000
    /// The longest room name, in characters (the same as bytes: room names are lowercase ASCII
    /// `a-z`, `0-9`, `-` and `_`). Default 32.
    public var maximumRoomNameLength = 32
    /// The longest message text, in UTF-8 bytes. Default 4,096.
    public var maximumMessageBytes = 4096
    /// How many rooms one connection may be in at once. Default 16.
    public var maximumRoomsPerConnection = 16
    /// How many rooms may exist, empty ones included; when full, the room that has been empty
    /// longest is forgotten (with its history) to make space. Its last sequence number is
    /// remembered, for as many forgotten rooms as this limit, so that the room recreated continues
    /// its numbering. Default 10,000.
    public var maximumRooms = 10_000
    /// The most rooms a `rooms` reply lists and the most members a `who` or `join` reply lists;
    /// a request may ask for fewer. Default 100.
    public var maximumPageSize = 100
    /// How often one session may list (`rooms`, `who`); `nil` for no limit. Default 20 a second,
    /// bursts of 40.
    public var listingRate: RequestRate? = RequestRate(perSecond: 20, burst: 40)
    /// How often one session may join or leave a room; `nil` for no limit. Default 20 a second,
    /// bursts of 40.
    public var membershipRate: RequestRate? = RequestRate(perSecond: 20, burst: 40)
    /// How many deliveries one session's messages may cause, `nil` for no limit. A `say` costs one
    /// delivery per member of its room (so its cost is what the server spends on it: sealing and
    /// sending to each member), a `direct` one. Default 50,000 a second, bursts of 100,000: a
    /// member of a 1,000-member room may say 50 things a second, of a 10-member room 5,000.
    public var deliveryRate: RequestRate? = RequestRate(perSecond: 50_000, burst: 100_000)

    /// The defaults.
    public init() {}

    /// Throws unless `name` is a valid room name. The characters are checked first: a room name is
    /// ASCII, so its length in characters, code points and bytes is the same number, and a name
    /// with any other character is refused for that character whatever its length.
    func validate(room name: String) throws {
        guard
            name.utf8.allSatisfy({
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F
            })
        else {
            let shown = name.count > maximumRoomNameLength ? name.prefix(maximumRoomNameLength) + "…" : name[...]
            throw ServiceError("room \"\(shown)\": room names use only lowercase a-z, 0-9, - and _")
        }
        guard !name.isEmpty, name.utf8.count <= maximumRoomNameLength else {
            throw ServiceError("room names are 1 to \(maximumRoomNameLength) characters")
        }
    }

    /// The page size for a request that asked for `limit` (`nil`: the largest).
    func pageSize(_ limit: Int?) throws -> Int {
        guard let limit else { return maximumPageSize }
        guard (1...maximumPageSize).contains(limit) else {
            throw ServiceError("limit must be 1 to \(maximumPageSize)")
        }
        return limit
    }

    /// Throws unless `text` is a sendable message.
    func validate(text: String) throws {
        guard !text.isEmpty else { throw ServiceError("empty messages are not sent") }
        guard text.utf8.count <= maximumMessageBytes else {
            throw ServiceError("message of \(text.utf8.count) bytes exceeds the limit of \(maximumMessageBytes)")
        }
    }
}
