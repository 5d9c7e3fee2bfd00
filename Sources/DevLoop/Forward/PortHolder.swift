import Foundation

/// Names the process listening on a local TCP port, for the "port taken" error: the socket's inode from
/// /proc/net/tcp and tcp6, then the process with that inode among its /proc/PID/fd links.
enum PortHolder {
    static func describe(port: UInt16, proc: String = "/proc") -> String {
        let inodes = listeningInodes(port: port, proc: proc)
        guard !inodes.isEmpty else { return "held by a process this user cannot see" }
        if let (pid, command) = process(holding: inodes, proc: proc) {
            return "held by pid \(pid) (\(command))"
        }
        return "held by a process of another user (socket inode \(inodes.sorted().first!))"
    }

    static func listeningInodes(port: UInt16, proc: String) -> Set<String> {
        var inodes: Set<String> = []
        for table in ["net/tcp", "net/tcp6"] {
            guard let text = try? String(contentsOfFile: "\(proc)/\(table)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                guard fields.count > 9, fields[3] == "0A",
                    let colon = fields[1].lastIndex(of: ":"),
                    UInt16(fields[1][fields[1].index(after: colon)...], radix: 16) == port
                else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        return inodes
    }

    static func process(holding inodes: Set<String>, proc: String) -> (Int, String)? {
        let links = Set(inodes.map { "socket:[\($0)]" })
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? []
        for entry in entries {
            guard let pid = Int(entry) else { continue }
            let fdDirectory = "\(proc)/\(entry)/fd"
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: fdDirectory) else { continue }
            for fd in fds {
                guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                    links.contains(link)
                else { continue }
                return (pid, command(pid: pid, proc: proc))
            }
        }
        return nil
    }

    static func command(pid: Int, proc: String) -> String {
        if let raw = FileManager.default.contents(atPath: "\(proc)/\(pid)/cmdline"), !raw.isEmpty {
            let words = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return String(words.joined(separator: " ").prefix(200))
        }
        let comm = (try? String(contentsOfFile: "\(proc)/\(pid)/comm", encoding: .utf8)) ?? "?"
        return comm.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
