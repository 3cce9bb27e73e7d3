import Foundation
import NIOCore
import NIOPosix
import Simul
import SimulJSON

/// Row 8, "Chat server": many clients connect to a local chat server at once, and each sends a few messages and
/// waits for each answer.
struct ChatScenario: Scenario {
    let key = "chat"
    let title = Phrase("Chat server", "Chat server")
    let advice = SeedAdvice(
        [.async], Phrase("I/O-bound, thousands of connections", "I/O-bound, milhares de conexões"))

    func size(quick: Bool) -> (clients: Int, messages: Int, delay: TimeAmount) {
        quick ? (60, 2, .milliseconds(1)) : (500, 2, .milliseconds(1))
    }

    var workload: Phrase {
        let (clients, messages, _) = size(quick: false)
        return Phrase(
            "\(clients) clients connect to a NIO chat server; each sends \(messages) messages and awaits each "
                + "reply (1 ms)",
            "\(clients) clientes conectam a um chat em NIO; cada um envia \(messages) mensagens e espera cada "
                + "resposta (1 ms)")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let (clients, messages, delay) = size(quick: settings.quick)
        // Both ends of every connection are in this process: make room for them, as a server would.
        FileLimit.raise(toAtLeast: 2 * clients + 256)
        return Fixture(
            server: try await ChatServer.start(delay: delay), clients: clients, messages: messages, settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        switch verdict.winner {
        case .async:
            return Phrase(
                "agrees: NIO serves every connection from a couple of threads",
                "concorda: o NIO atende todas as conexões com poucas threads")
        case .threads:
            return Phrase(
                "a thread per client still copes at this size; at thousands their memory adds up",
                "uma thread por cliente ainda dá conta; com milhares a memória pesa")
        case .processes, .sequential:
            return Phrase("the waits were too short to matter", "as esperas foram curtas demais para importar")
        }
    }

    struct Fixture: ScenarioFixture {
        let server: ChatServer
        let clients: Int
        let messages: Int
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let port = server.port
            let messages = messages
            let ids = Array(0..<clients)
            let transcripts: [[Int]]
            switch model {
            case .sequential:
                transcripts = try await Pools.onOneThread {
                    try ids.map { try ChatClient.blocking(port: port, client: $0, messages: messages) }
                }
            case .threads:
                transcripts = try await Pools.withThreads(clients) { pool in
                    try await Pools.map(ids, on: pool) {
                        try ChatClient.blocking(port: port, client: $0, messages: messages)
                    }
                }
            case .processes:
                transcripts = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(ids.map { [port, $0, messages] }, on: pool, ChatClient.self)
                }
            case .async:
                transcripts = try await ids.concurrentMap(maxConcurrency: clients) { client in
                    try await ChatClient.async(port: port, client: client, messages: messages)
                }
            }
            var crc = CRC32()
            for transcript in transcripts { crc.update(integer: UInt32(transcript[0])) }
            let replies = transcripts.reduce(0) { $0 + $1[1] }
            return Outcome(
                check: "replies=\(replies) crc=\(crc)",
                details: ["clients": .integer(Int64(clients)), "replies": .integer(Int64(replies))])
        }

        func tearDown() async throws { try await server.shutdown() }
    }
}

/// A chat client: says its messages one at a time, checks every reply, and returns `[crc of the replies, count]`.
struct ChatClient: ProcessTask {
    static let name = "table.chat-client"

    /// `[port, client, messages]`: the worker side, a blocking client.
    static func run(_ input: [Int]) throws -> [Int] {
        try blocking(port: input[0], client: input[1], messages: input[2])
    }

    static func message(client: Int, number: Int) -> String { "olá da pessoa \(client), mensagem \(number)" }

    static func check(_ reply: String, client: Int, number: Int) throws {
        let expected = ChatServer.reply(to: message(client: client, number: number), number: number)
        guard reply == expected else {
            throw TableError(description: "chat: client \(client) got '\(reply)', expected '\(expected)'")
        }
    }

    /// Over a blocking socket, as a thread or a process would.
    static func blocking(port: Int, client: Int, messages: Int) throws -> [Int] {
        let socket = try BlockingSocket(port: port)
        var crc = CRC32()
        for number in 1...messages {
            try socket.send(Array("SAY \(message(client: client, number: number))\n".utf8))
            guard let line = try socket.readLine() else { throw TableError(description: "chat: the server hung up") }
            let reply = String(decoding: line, as: UTF8.self)
            try check(reply, client: client, number: number)
            crc.update(line)
        }
        return [Int(crc.value), messages]
    }

    /// Over a NIO channel, as an async task.
    static func async(port: Int, client: Int, messages: Int) async throws -> [Int] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var lines = inbound.makeAsyncIterator()
            var crc = CRC32()
            for number in 1...messages {
                try await outbound.write(ByteBuffer(string: "SAY \(message(client: client, number: number))\n"))
                guard let line = try await lines.next() else {
                    throw TableError(description: "chat: the server hung up")
                }
                let reply = String(buffer: line)
                try check(reply, client: client, number: number)
                crc.update(Array(reply.utf8))
            }
            return [Int(crc.value), messages]
        }
    }
}

/// The process's limit on open files.
enum FileLimit {
    /// Raises the soft limit towards `count`, up to the hard limit.
    static func raise(toAtLeast count: Int) {
        var limit = rlimit()
        #if canImport(Glibc)
            let openFiles = Int32(RLIMIT_NOFILE.rawValue)
        #else
            let openFiles = RLIMIT_NOFILE
        #endif
        guard getrlimit(openFiles, &limit) == 0, limit.rlim_cur < rlim_t(count) else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(count))
        setrlimit(openFiles, &limit)
    }
}
