/// Source addresses for attackers: 127.0.0.0/8 is all loopback on Linux, so every attacker can
/// have an address of its own (penalties are per address). Honest clients use 127.0.0.1.
package enum AttackSource {
    /// The `index`th address of block `block` (1...250): `127.<block>.<index / 250>.<index % 250 + 2>`.
    /// Up to 250 of them share one /24, and admission caps unfinished handshakes per /24 (32 by
    /// default): attackers meant to act as independent clients use ``network(block:_:)``.
    package static func address(block: Int, _ index: Int) -> String {
        precondition((1...250).contains(block) && index >= 0 && index < 250 * 250, "attack address out of range")
        return "127.\(block).\(index / 250).\(index % 250 + 2)"
    }

    /// An address in the `index`th /24 of block `block` (1...250): `127.<block>.<index>.2`.
    package static func network(block: Int, _ index: Int) -> String {
        precondition((1...250).contains(block) && (0..<256).contains(index), "attack network out of range")
        return "127.\(block).\(index).2"
    }
}
