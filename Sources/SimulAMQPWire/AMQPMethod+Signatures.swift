extension AMQPMethod.ID {
    public static let connectionStart = Self(10, 10)
    public static let connectionStartOk = Self(10, 11)
    public static let connectionSecure = Self(10, 20)
    public static let connectionSecureOk = Self(10, 21)
    public static let connectionTune = Self(10, 30)
    public static let connectionTuneOk = Self(10, 31)
    public static let connectionOpen = Self(10, 40)
    public static let connectionOpenOk = Self(10, 41)
    public static let connectionClose = Self(10, 50)
    public static let connectionCloseOk = Self(10, 51)
    public static let connectionBlocked = Self(10, 60)
    public static let connectionUnblocked = Self(10, 61)
    public static let connectionUpdateSecret = Self(10, 70)
    public static let connectionUpdateSecretOk = Self(10, 71)
    public static let channelOpen = Self(20, 10)
    public static let channelOpenOk = Self(20, 11)
    public static let channelFlow = Self(20, 20)
    public static let channelFlowOk = Self(20, 21)
    public static let channelClose = Self(20, 40)
    public static let channelCloseOk = Self(20, 41)
    public static let exchangeDeclare = Self(40, 10)
    public static let exchangeDeclareOk = Self(40, 11)
    public static let exchangeDelete = Self(40, 20)
    public static let exchangeDeleteOk = Self(40, 21)
    public static let exchangeBind = Self(40, 30)
    public static let exchangeBindOk = Self(40, 31)
    public static let exchangeUnbind = Self(40, 40)
    public static let exchangeUnbindOk = Self(40, 51)
    public static let queueDeclare = Self(50, 10)
    public static let queueDeclareOk = Self(50, 11)
    public static let queueBind = Self(50, 20)
    public static let queueBindOk = Self(50, 21)
    public static let queuePurge = Self(50, 30)
    public static let queuePurgeOk = Self(50, 31)
    public static let queueDelete = Self(50, 40)
    public static let queueDeleteOk = Self(50, 41)
    public static let queueUnbind = Self(50, 50)
    public static let queueUnbindOk = Self(50, 51)
    public static let basicQos = Self(60, 10)
    public static let basicQosOk = Self(60, 11)
    public static let basicConsume = Self(60, 20)
    public static let basicConsumeOk = Self(60, 21)
    public static let basicCancel = Self(60, 30)
    public static let basicCancelOk = Self(60, 31)
    public static let basicPublish = Self(60, 40)
    public static let basicReturn = Self(60, 50)
    public static let basicDeliver = Self(60, 60)
    public static let basicGet = Self(60, 70)
    public static let basicGetOk = Self(60, 71)
    public static let basicGetEmpty = Self(60, 72)
    public static let basicAck = Self(60, 80)
    public static let basicReject = Self(60, 90)
    public static let basicRecoverAsync = Self(60, 100)
    public static let basicRecover = Self(60, 110)
    public static let basicRecoverOk = Self(60, 111)
    public static let basicNack = Self(60, 120)
    public static let confirmSelect = Self(85, 10)
    public static let confirmSelectOk = Self(85, 11)
    public static let txSelect = Self(90, 10)
    public static let txSelectOk = Self(90, 11)
    public static let txCommit = Self(90, 20)
    public static let txCommitOk = Self(90, 21)
    public static let txRollback = Self(90, 30)
    public static let txRollbackOk = Self(90, 31)
}

extension AMQPMethod.Signature {
    /// Every method's signature, from the 0-9-1 spec with RabbitMQ's errata and extensions. Arguments the spec
    /// reserves (`ticket`, `reserved-1`) are listed too, so each method's arguments are its wire fields in order.
    public static let all: [AMQPMethod.ID: Self] = {
        typealias ID = AMQPMethod.ID
        let rows: [(ID, String, [Kind], Bool)] = [
            (.connectionStart, "connection.start", [.octet, .octet, .table, .longString, .longString], false),
            (.connectionStartOk, "connection.start-ok", [.table, .shortString, .longString, .shortString], false),
            (.connectionSecure, "connection.secure", [.longString], false),
            (.connectionSecureOk, "connection.secure-ok", [.longString], false),
            (.connectionTune, "connection.tune", [.short, .long, .short], false),
            (.connectionTuneOk, "connection.tune-ok", [.short, .long, .short], false),
            (.connectionOpen, "connection.open", [.shortString, .shortString, .bit], false),
            (.connectionOpenOk, "connection.open-ok", [.shortString], false),
            (.connectionClose, "connection.close", [.short, .shortString, .short, .short], false),
            (.connectionCloseOk, "connection.close-ok", [], false),
            (.connectionBlocked, "connection.blocked", [.shortString], false),
            (.connectionUnblocked, "connection.unblocked", [], false),
            (.connectionUpdateSecret, "connection.update-secret", [.longString, .shortString], false),
            (.connectionUpdateSecretOk, "connection.update-secret-ok", [], false),
            (.channelOpen, "channel.open", [.shortString], false),
            (.channelOpenOk, "channel.open-ok", [.longString], false),
            (.channelFlow, "channel.flow", [.bit], false),
            (.channelFlowOk, "channel.flow-ok", [.bit], false),
            (.channelClose, "channel.close", [.short, .shortString, .short, .short], false),
            (.channelCloseOk, "channel.close-ok", [], false),
            (
                .exchangeDeclare, "exchange.declare",
                [.short, .shortString, .shortString, .bit, .bit, .bit, .bit, .bit, .table], false
            ),
            (.exchangeDeclareOk, "exchange.declare-ok", [], false),
            (.exchangeDelete, "exchange.delete", [.short, .shortString, .bit, .bit], false),
            (.exchangeDeleteOk, "exchange.delete-ok", [], false),
            (.exchangeBind, "exchange.bind", [.short, .shortString, .shortString, .shortString, .bit, .table], false),
            (.exchangeBindOk, "exchange.bind-ok", [], false),
            (
                .exchangeUnbind, "exchange.unbind", [.short, .shortString, .shortString, .shortString, .bit, .table],
                false
            ),
            (.exchangeUnbindOk, "exchange.unbind-ok", [], false),
            (.queueDeclare, "queue.declare", [.short, .shortString, .bit, .bit, .bit, .bit, .bit, .table], false),
            (.queueDeclareOk, "queue.declare-ok", [.shortString, .long, .long], false),
            (.queueBind, "queue.bind", [.short, .shortString, .shortString, .shortString, .bit, .table], false),
            (.queueBindOk, "queue.bind-ok", [], false),
            (.queuePurge, "queue.purge", [.short, .shortString, .bit], false),
            (.queuePurgeOk, "queue.purge-ok", [.long], false),
            (.queueDelete, "queue.delete", [.short, .shortString, .bit, .bit, .bit], false),
            (.queueDeleteOk, "queue.delete-ok", [.long], false),
            (.queueUnbind, "queue.unbind", [.short, .shortString, .shortString, .shortString, .table], false),
            (.queueUnbindOk, "queue.unbind-ok", [], false),
            (.basicQos, "basic.qos", [.long, .short, .bit], false),
            (.basicQosOk, "basic.qos-ok", [], false),
            (
                .basicConsume, "basic.consume", [.short, .shortString, .shortString, .bit, .bit, .bit, .bit, .table],
                false
            ),
            (.basicConsumeOk, "basic.consume-ok", [.shortString], false),
            (.basicCancel, "basic.cancel", [.shortString, .bit], false),
            (.basicCancelOk, "basic.cancel-ok", [.shortString], false),
            (.basicPublish, "basic.publish", [.short, .shortString, .shortString, .bit, .bit], true),
            (.basicReturn, "basic.return", [.short, .shortString, .shortString, .shortString], true),
            (.basicDeliver, "basic.deliver", [.shortString, .longlong, .bit, .shortString, .shortString], true),
            (.basicGet, "basic.get", [.short, .shortString, .bit], false),
            (.basicGetOk, "basic.get-ok", [.longlong, .bit, .shortString, .shortString, .long], true),
            (.basicGetEmpty, "basic.get-empty", [.shortString], false),
            (.basicAck, "basic.ack", [.longlong, .bit], false),
            (.basicReject, "basic.reject", [.longlong, .bit], false),
            (.basicRecoverAsync, "basic.recover-async", [.bit], false),
            (.basicRecover, "basic.recover", [.bit], false),
            (.basicRecoverOk, "basic.recover-ok", [], false),
            (.basicNack, "basic.nack", [.longlong, .bit, .bit], false),
            (.confirmSelect, "confirm.select", [.bit], false),
            (.confirmSelectOk, "confirm.select-ok", [], false),
            (.txSelect, "tx.select", [], false),
            (.txSelectOk, "tx.select-ok", [], false),
            (.txCommit, "tx.commit", [], false),
            (.txCommitOk, "tx.commit-ok", [], false),
            (.txRollback, "tx.rollback", [], false),
            (.txRollbackOk, "tx.rollback-ok", [], false),
        ]
        return Dictionary(
            uniqueKeysWithValues: rows.map { ($0.0, Self(name: $0.1, arguments: $0.2, hasContent: $0.3)) })
    }()
}
