import Foundation

/// Runs a container's probes as a kubelet does: httpGet and tcpSocket from inside the pod's network
/// namespace, exec inside the container (its namespaces).
struct Prober: Sendable {
    var sandbox: PodSandbox
    var container: RuntimeContainer

    /// Probes every `periodSeconds` after `initialDelaySeconds` while `instance` runs, and calls `changed`
    /// when the result flips: readiness starts false, liveness true (`initial`), and a flip needs
    /// `successThreshold` successes or `failureThreshold` failures in a row.
    func watch(
        _ probe: RuntimeProbe, while instance: ContainerInstance, initial: Bool = false,
        failed: @Sendable (String) -> Void = { _ in }, changed: @Sendable (Bool) async -> Void
    ) async {
        var result = initial
        var streak = 0
        guard (try? await Task.sleep(for: .seconds(probe.initialDelaySeconds))) != nil else { return }
        while !Task.isCancelled && instance.isRunning {
            let failure = await failure(of: probe, in: instance)
            let success = failure == nil
            if let failure, instance.isRunning, !Task.isCancelled { failed(failure) }
            streak = success == result ? 0 : streak + 1
            let needed = success ? probe.successThreshold : probe.failureThreshold
            if streak >= max(1, needed), instance.isRunning, !Task.isCancelled {
                result = success
                streak = 0
                await changed(success)
            }
            guard (try? await Task.sleep(for: .seconds(max(probe.periodSeconds, 0.05)))) != nil else { return }
        }
    }

    /// One attempt: nil when the probe succeeds within its timeout, else why it failed, in kubelet's words.
    func failure(of probe: RuntimeProbe, in instance: ContainerInstance) async -> String? {
        if await check(probe, in: instance) { return nil }
        switch probe.action {
        case .tcpSocket(let port):
            return "dial tcp 127.0.0.1:\(port): connect: connection refused"
        case .httpGet(let path, let port):
            return
                "Get \"http://127.0.0.1:\(port)\(path.hasPrefix("/") ? path : "/" + path)\": failed or not a 2xx/3xx answer"
        case .exec(let command):
            return "command \(command) failed or timed out"
        }
    }

    /// One attempt: true when the probe succeeds within its timeout.
    func check(_ probe: RuntimeProbe, in instance: ContainerInstance) async -> Bool {
        let timeout = Duration.seconds(max(probe.timeoutSeconds, 0.05))
        switch probe.action {
        case .tcpSocket(let port):
            guard let fd = try? await sandbox.dialer.connect(port: port, timeout: timeout) else { return false }
            close(fd)
            return true
        case .httpGet(let path, let port):
            guard let fd = try? await sandbox.dialer.connect(port: port, timeout: timeout) else { return false }
            return await onDedicatedThread("kubesim-probe") {
                httpStatus(on: fd, path: path, port: port, timeout: timeout).map { (200..<400).contains($0) } ?? false
            }
        case .exec(let command):
            guard
                let process = try? await BubblewrapExecProcess.start(
                    command, in: container, instance: instance, sandbox: sandbox)
            else { return false }
            try? process.stdin.close()
            let status = await withTaskCancellationHandler {
                await process.wait(timeout: timeout)
            } onCancel: {
                process.terminate()
            }
            if status == nil {
                // Too slow counts as a failure; the probe's processes go (and are reaped) now.
                process.terminate()
                _ = await process.wait()
            }
            return status == 0
        }
    }
}

/// Sends `GET path` as kubelet's prober does and returns the response's status code; closes `fd`.
private func httpStatus(on fd: Int32, path: String, port: Int, timeout: Duration) -> Int? {
    defer { close(fd) }
    var limit = timeval(
        tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    let target = path.hasPrefix("/") ? path : "/" + path
    let request = Array(
        ("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: kube-probe/1.32\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n").utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
        return nil
    }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1024)
    while !response.contains(UInt8(ascii: "\n")) && response.count < 8192 {
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { break }
        response += chunk[0..<count]
    }
    // "HTTP/1.1 200 OK"
    let statusLine = response.split(separator: UInt8(ascii: "\n")).first ?? []
    let fields = statusLine.split(separator: UInt8(ascii: " "))
    guard fields.count >= 2, fields[0].starts(with: Array("HTTP/".utf8)) else { return nil }
    return Int(String(decoding: fields[1], as: UTF8.self))
}
