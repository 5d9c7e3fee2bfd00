import CCurl
import CCurlShim
import Foundation

extension CurlEasy {
    /// Sets what every connection to the API server needs: URL, TLS trust and identity, HTTP/1.1.
    func configureConnection(url: URL, tls: TLSSettings, connectTimeout: TimeInterval = 10) throws {
        try prepareErrorBuffer()
        var target = url
        if let serverName = tls.serverName, let host = url.host, serverName != host,
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        {
            // The URL carries the expected name (SNI, verification); CONNECT_TO dials the real address.
            let port = url.port ?? (url.scheme == "http" ? 80 : 443)
            components.host = serverName
            components.port = port
            target = components.url ?? url
            try setConnectTo("\(URL.bracketed(serverName)):\(port):\(URL.bracketed(host)):\(port)")
        }
        try set(CURLOPT_URL, target.absoluteString)
        // Always explicit: "" turns off libcurl's own reading of the proxy variables (see ProxySelection).
        try set(CURLOPT_PROXY, ProxySelection.fromProcess().proxy(for: url, configured: tls.proxyURL) ?? "")
        // A proxy's answer to CONNECT is not the API server's head: keep it out of the header callback.
        try set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        // Upgrades (exec, port-forward) need HTTP/1.1; one version for all keeps connections shareable.
        try set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        // Stands in for libcurl's built-in CAPATH in tests; a kubeconfig CA below overrides it like the real one.
        if let folder = tls.systemCAPath { try set(CURLOPT_CAPATH, folder) }
        if let ca = tls.caPEM {
            // The kubeconfig's CA is the only one trusted, as in client-go. CAINFO_BLOB replaces only
            // CAINFO: libcurl would still load its built-in CAPATH and trust every public CA as well.
            try set(CURLOPT_CAINFO_BLOB, blob: ca)
            try set(CURLOPT_CAINFO, pointer: nil)
            try set(CURLOPT_CAPATH, pointer: nil)
        }
        if let certificate = tls.clientCertificatePEM {
            try set(CURLOPT_SSLCERT_BLOB, blob: certificate)
            try set(CURLOPT_SSLCERTTYPE, "PEM")
        }
        if let key = tls.clientKeyPEM {
            try set(CURLOPT_SSLKEY_BLOB, blob: key)
            try set(CURLOPT_SSLKEYTYPE, "PEM")
        }
        if tls.insecureSkipVerify {
            try set(CURLOPT_SSL_VERIFYPEER, 0)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }
    }
}
