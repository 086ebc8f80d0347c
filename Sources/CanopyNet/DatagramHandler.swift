import CanopyCore
import NIOCore

/// The NIO end of a node: hands every datagram to the driver and swallows socket errors
/// (an ICMP "port unreachable" for one dead peer must not close the node's socket).
final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let driver: NodeDriver

    init(driver: NodeDriver) {
        self.driver = driver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        driver.receive(envelope.data, from: PeerAddress(envelope.remoteAddress))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        driver.socketErrorCaught()
    }
}
