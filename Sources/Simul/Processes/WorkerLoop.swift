import CSimulShims
import Foundation

/// The worker side of a ``ProcessPool``: reads calls on standard input, answers on descriptor 3, and exits when
/// descriptor 4 (the lifeline, whose other end only the parent holds) reaches end of file.
struct WorkerLoop {
    static let requests: Int32 = 0
    static let responses: Int32 = 3
    static let lifeline: Int32 = 4

    let registry: TaskRegistry
    private var assembler = FrameAssembler()
    private var output = Data()
    private var tasksLeft = UInt64.max

    init(registry: TaskRegistry) {
        self.registry = registry
    }

    mutating func run() -> Never {
        simul_ignore_sigint()
        simul_ignore_sigpipe()
        let lifeline = Thread {
            var byte: UInt8 = 0
            while read(Self.lifeline, &byte, 1) < 0 && errno == EINTR {}
            simul_exit_now(0)
        }
        lifeline.name = "simul-worker-lifeline"
        lifeline.start()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
        while true {
            do {
                // Flush after every frame: if the next task crashes, the parent must have every earlier answer,
                // so the task it blames is the one that was running.
                while let frame = try assembler.next() {
                    handle(frame)
                    flush()
                }
            } catch {
                fail("malformed frame from the pool: \(error)")
            }
            let count = read(Self.requests, buffer.baseAddress, buffer.count)
            if count == 0 { exit(0) }
            if count < 0 {
                if errno == EINTR { continue }
                fail("cannot read from the pool: errno \(errno)")
            }
            assembler.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    private mutating func handle(_ frame: Frame) {
        var reader = PayloadReader(frame.payload)
        do {
            switch frame.kind {
            case .setup:
                let maxTasks = try reader.integer(UInt64.self)
                tasksLeft = maxTasks == 0 ? .max : maxTasks
                let initializer = try reader.string16()
                if !initializer.isEmpty {
                    if case .failure(let failure) = call(initializer, reader.rest(), chunk: false).result {
                        output.appendFrame(.setupFailed, id: frame.id, Self.encode(failure))
                        flush()
                        exit(1)
                    }
                }
                var pid = Data()
                pid.appendInteger(UInt32(getpid()))
                output.appendFrame(.hello, id: frame.id, pid)
            case .call:
                let name = try reader.string16()
                let chunk = try reader.integer(UInt8.self) != 0
                ResponseWriter.shared.setRunningCall(frame.id)
                let (result, nanoseconds) = call(name, reader.rest(), chunk: chunk)
                ResponseWriter.shared.setRunningCall(nil)
                switch result {
                case .success(let body):
                    var header = Data()
                    header.appendInteger(nanoseconds)
                    output.appendFrame(.result, id: frame.id, header, body)
                case .failure(let failure):
                    output.appendFrame(.failure, id: frame.id, Self.encode(failure))
                }
                tasksLeft -= 1
                if tasksLeft == 0 {
                    flush()
                    exit(0)
                }
            case .hello, .result, .failure, .setupFailed, .update:
                fail("unexpected \(frame.kind) frame from the pool")
            }
        } catch {
            fail("malformed \(frame.kind) frame from the pool")
        }
    }

    private func call(_ name: String, _ body: Data, chunk: Bool) -> (result: Result<Data, WorkerFailure>, UInt64) {
        guard let runner = registry.runners[name] else {
            let known = registry.names.joined(separator: ", ")
            let message = "no task named '\(name)' is registered in this worker (registered: \(known))"
            return (.failure(WorkerFailure(kind: .unknownTask, type: "UnknownTask", message: message)), 0)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = runner(body, chunk)
        return (result, DispatchTime.now().uptimeNanoseconds - start)
    }

    static func encode(_ failure: WorkerFailure) -> Data {
        var data = Data()
        data.append(failure.kind.rawValue)
        data.appendString16(failure.type)
        data.append(Data(failure.message.utf8))
        return data
    }

    static func decodeFailure(_ payload: Data) -> WorkerFailure? {
        var reader = PayloadReader(payload)
        guard let kindByte = try? reader.integer(UInt8.self), let kind = WorkerFailure.Kind(rawValue: kindByte),
            let type = try? reader.string16()
        else { return nil }
        return WorkerFailure(kind: kind, type: type, message: String(decoding: reader.rest(), as: UTF8.self))
    }

    private mutating func flush() {
        guard !output.isEmpty else { return }
        let complete = ResponseWriter.shared.write(output)
        output.removeAll(keepingCapacity: true)
        if !complete { exit(0) }  // the parent is gone
    }

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("simul worker \(getpid()): \(message)\n".utf8))
        exit(70)
    }
}
