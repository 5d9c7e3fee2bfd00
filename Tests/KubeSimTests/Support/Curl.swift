import Foundation
import KubeSim

/// Raw HTTPS requests to a kubesim with curl: the CA from DIR/pki and the bearer token from tokens.csv.
struct Curl {
    let server: KubeSimServer

    private var base: [String] {
        [
            "-s", "--cacert", server.directory.appendingPathComponent("pki/ca.crt").path, "-H",
            "Authorization: Bearer \(server.token)",
        ]
    }

    /// (HTTP status, body).
    func request(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json")
        async throws -> (Int, JSON)
    {
        var arguments = base + ["-X", method, "-w", "\n%{http_code}", "https://127.0.0.1:\(server.port)\(path)"]
        if let body { arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", body] }
        let process = try RunningProcess(kubeconfig: nil, arguments: arguments, stdin: nil, executable: "/usr/bin/curl")
        _ = try await process.wait(timeout: .seconds(20))
        let output = process.stdout
        guard let split = output.lastIndex(of: "\n"), let code = Int(output[output.index(after: split)...]) else {
            throw TestFailure("curl \(path): \(output) \(process.stderr)")
        }
        let text = String(output[..<split])
        return (code, text.isEmpty ? .null : try JSON.parse(Data(text.utf8)))
    }

    /// A GET whose answer is text (a log): (HTTP status, body).
    func text(_ path: String) async throws -> (Int, String) {
        let arguments = base + ["-w", "\n%{http_code}", "https://127.0.0.1:\(server.port)\(path)"]
        let process = try RunningProcess(kubeconfig: nil, arguments: arguments, stdin: nil, executable: "/usr/bin/curl")
        _ = try await process.wait(timeout: .seconds(20))
        let output = process.stdout
        guard let split = output.lastIndex(of: "\n"), let code = Int(output[output.index(after: split)...]) else {
            throw TestFailure("curl \(path): \(output) \(process.stderr)")
        }
        return (code, String(output[..<split]))
    }

    /// A streaming GET (watch, follow) whose output is read as it comes.
    func stream(_ path: String) throws -> RunningProcess {
        try RunningProcess(
            kubeconfig: nil, arguments: base + ["-N", "https://127.0.0.1:\(server.port)\(path)"], stdin: nil,
            executable: "/usr/bin/curl")
    }
}

extension RunningProcess {
    /// The JSON lines of a watch stream so far.
    var watchEvents: [JSON] {
        stdout.split(separator: "\n").compactMap { try? JSON.parse(Data($0.utf8)) }
    }
}
