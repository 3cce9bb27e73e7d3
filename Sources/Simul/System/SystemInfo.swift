import CSimulShims
import Foundation

/// Facts about the machine that size pools and label benchmark results.
public enum SystemInfo {
    /// The CPUs this process may actually use: the affinity mask (`taskset`) narrowed by a cgroup CPU quota
    /// (`cpu.max` in cgroup v2, `cpu.cfs_quota_us` in v1), and never less than 1.
    ///
    /// `ProcessInfo.activeProcessorCount` ignores both on Linux, so a container limited to two CPUs on a
    /// 64-core host would otherwise start 64 workers.
    public static let availableCPUs: Int = {
        var count = Int(simul_affinity_cpu_count())
        if count <= 0 { count = ProcessInfo.processInfo.activeProcessorCount }
        if let quota = cgroupCPUQuota() { count = min(count, quota) }
        return max(1, count)
    }()

    /// A short description of the operating system, for benchmark reports.
    public static var operatingSystem: String {
        ProcessInfo.processInfo.operatingSystemVersionString
    }

    /// Reads the cgroup CPU quota, rounded up to whole CPUs, or nil when there is none.
    static func cgroupCPUQuota(root: String = "/sys/fs/cgroup") -> Int? {
        if let text = try? String(contentsOfFile: "\(root)/cpu.max", encoding: .utf8) {
            return parseCPUMax(text)
        }
        guard let quota = (try? String(contentsOfFile: "\(root)/cpu/cpu.cfs_quota_us", encoding: .utf8)),
            let period = (try? String(contentsOfFile: "\(root)/cpu/cpu.cfs_period_us", encoding: .utf8))
        else { return nil }
        return parseCPUMax("\(quota.trimmingCharacters(in: .whitespacesAndNewlines)) \(period)")
    }

    /// Parses `"<quota> <period>"` (cgroup v2 `cpu.max`); `"max ..."` or a negative quota mean no limit.
    static func parseCPUMax(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2, let quota = Double(fields[0]), let period = Double(fields[1]), quota > 0,
            period > 0
        else { return nil }
        return max(1, Int((quota / period).rounded(.up)))
    }
}
