import CCurl
import CCurlShim
import Foundation

/// One libcurl easy handle. Not thread-safe: a handle belongs to one transfer (one thread) at a time.
final class CurlEasy: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var connectTo: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    /// The multi handle that drives this handle's transfers (created on first use). It owns the
    /// connection cache, so it stays with the handle in the pool: consecutive requests keep alive.
    private var multiHandle: UnsafeMutableRawPointer?

    var multi: UnsafeMutableRawPointer {
        if let multiHandle { return multiHandle }
        guard let created = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multiHandle = created
        return created
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    init() {
        _ = Self.globalInit
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        self.handle = handle
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        // libcurl's order (curl_multi_cleanup(3)): the easy handle (already removed) first, then the
        // multi handle with the connections it keeps.
        curl_easy_cleanup(handle)
        if let multiHandle { curl_multi_cleanup(multiHandle) }
        curl_slist_free_all(headerList)
        curl_slist_free_all(connectTo)
        errorBuffer.deallocate()
    }

    /// Forgets the options of the last transfer but keeps its connections open for the next one.
    func reset() {
        curl_easy_reset(handle)
        curl_slist_free_all(headerList)
        curl_slist_free_all(connectTo)
        headerList = nil
        connectTo = nil
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(devloop_curl_setopt_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String) throws {
        try check(devloop_curl_setopt_string(handle, option, value), option)
    }

    func set(_ option: CURLoption, blob: Data) throws {
        let code = blob.withUnsafeBytes { devloop_curl_setopt_blob(handle, option, $0.baseAddress, $0.count) }
        try check(code, option)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(devloop_curl_setopt_pointer(handle, option, pointer), option)
    }

    func setHeaders(_ headers: [String]) throws {
        curl_slist_free_all(headerList)
        headerList = nil
        for header in headers { headerList = curl_slist_append(headerList, header) }
        try set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(headerList))
    }

    /// Connects to `target` ("host:port") while the URL keeps `host:port` for SNI and verification
    /// (kubeconfig's tls-server-name).
    func setConnectTo(_ entry: String) throws {
        curl_slist_free_all(connectTo)
        connectTo = curl_slist_append(nil, entry)
        try set(CURLOPT_CONNECT_TO, pointer: UnsafeMutableRawPointer(connectTo))
    }

    func prepareErrorBuffer() throws {
        errorBuffer[0] = 0
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
    }

    var responseCode: Int {
        var code = 0
        _ = devloop_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    var activeSocket: Int32? {
        var socket: curl_socket_t = -1
        guard devloop_curl_getinfo_socket(handle, &socket) == CURLE_OK, socket >= 0 else { return nil }
        return socket
    }

    /// The error of a finished transfer, with libcurl's detail message.
    func error(for code: CURLcode) -> CurlError {
        let detail = String(cString: errorBuffer)
        return CurlError(
            code: Int(code.rawValue), detail: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw CurlError(
                code: Int(code.rawValue),
                detail: "setting libcurl option \(option.rawValue): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}
