import NIOCore
import NIOPosix

/// A socket closed with SO_LINGER 0, so the peer sees a reset instead of an orderly FIN.
package func reset(_ channel: any Channel) async {
    if let options = channel as? any SocketOptionProvider {
        try? await options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
    }
    try? await channel.close()
}
