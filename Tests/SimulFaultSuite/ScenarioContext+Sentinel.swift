import SimulJSON
import SimulProcessSupport

extension ScenarioContext {
    /// A Sentinel failover in the middle of 10,000 tasks: a master, two replicas and three sentinels of the
    /// scenario's own; once a quarter are sent and 1,000 run, the master is killed (`SIGKILL`) and the sentinels
    /// promote a replica. The worker and the client find the master through the sentinels and carry on by themselves.
    ///
    /// With `waitReplicas`, every commit waits for a replica (`wait_replicas=1`) and nothing may be lost. Without,
    /// Redis replicates after its reply, and the row measures what the failover lost: it is allowed to lose.
    func sentinelFailover(waitReplicas: Bool) throws {
        let count = Self.networkTasks
        let cluster = try blocking { try await SentinelCluster.start() }
        url = cluster.url(database: scenario.redisDatabase, options: waitReplicas ? ["wait_replicas=1"] : [])
        let worker = try startWorker(log: "worker.log", Self.networkWorker + ["-n", "worker@faults"])
        let sender = try startSender(count: count, broker: url)
        try Waiting.until(120, "a quarter of the tasks sent and 1000 run") {
            Self.lines(ids) >= count / 4 && Self.distinct(records) >= 1_000
        }
        let (sentAt, runAt) = (Self.lines(ids), Self.distinct(records))
        cluster.first.stop()
        let killed = Stopwatch()
        say("killed the master with \(sentAt) sent and \(runAt) run")
        var promoted: RedisServer?
        try Waiting.until(60, "the sentinels promoting a replica", pause: 0.05) {
            let port = try cluster.masterPort()
            promoted = cluster.replicas.first { $0.port == port }
            return promoted != nil
        }
        // swift-format-ignore: NeverForceUnwrap
        let master = promoted!
        let promotion = killed.text
        let recovery = try secondsUntilResults(above: try resultsStored(on: master), on: master, since: killed)
        var notes = [
            "master killed at \(sentAt) sent, \(runAt) run; a replica promoted \(promotion) s after, "
                + "its next SUCCESS \(recovery) s after the kill"
        ]
        var checks = [try senderFinished(sender, count: count)]
        if waitReplicas {
            try waitDone(300)
        } else {
            // What was lost never ends: wait until nothing is queued or held, twice a second apart.
            var quiet = 0
            try Waiting.until(300, "nothing queued or held on the new master", pause: 1) {
                let held = try master.integer(["zcard", "unacked_index"], database: scenario.redisDatabase)
                let queued = try master.integer(["llen", "celery"], database: scenario.redisDatabase)
                quiet = held == 0 && queued == 0 ? quiet + 1 : 0
                return quiet >= 2
            }
        }
        // A second failover (the promoted replica demoted again) would replace its data with the other replica's.
        let end = try cluster.masterPort()
        notes.append(
            end == master.port
                ? "the promoted replica was still the master at the end"
                : "the master at the end is 127.0.0.1:\(end.map(String.init) ?? "?"), not the promoted replica")
        checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
        try stopWorker(worker)
        try collect()
        if !waitReplicas {
            let ran = Set(Self.lines(of: records))
            let succeeded = try succeededIDs()
            notes.append(
                "\(Self.lines(of: ids).count(where: { !ran.contains($0) })) sends lost (never ran), "
                    + "\(ran.subtracting(succeeded).count) results lost (ran, no SUCCESS)")
        }
        // Bounds as for a Redis restart: what the worker held (its leases lapse during the failover) and one batch
        // of sends written again because their replies were lost. Without wait_replicas, lost acknowledgements run
        // their tasks again too: that row has no bound, it measures.
        try tally(
            Tally(
                maxDuplicates: waitReplicas ? Self.networkHeld + 64 : nil, checks: checks, notes: notes,
                lossIsMeasured: !waitReplicas))
    }

    /// The ids that have SUCCESS in the results ``collect()`` wrote.
    private func succeededIDs() throws -> Set<String> {
        var ids: Set<String> = []
        for line in Self.lines(of: path("results.jsonl")) {
            let result = try JSONValue(parsing: Array(line.utf8)).objectValue
            if result?["status"]?.stringValue == "SUCCESS", let id = result?["task_id"]?.stringValue { ids.insert(id) }
        }
        return ids
    }
}
