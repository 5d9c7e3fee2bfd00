// swift-tools-version:6.2
import PackageDescription

// DEVLOOP_WITHOUT_WEBAPP=1 leaves the web app out of the build: the tool alone builds much faster.
let withWebApp = Context.environment["DEVLOOP_WITHOUT_WEBAPP"] != "1"

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
]

var products: [Product] = [
    .executable(name: "devloop", targets: ["DevLoopCLI"]),
    .executable(name: "kubesim", targets: ["KubeSimCLI"]),
    .executable(name: "devloop-bench", targets: ["DevLoopBench"]),
    .library(name: "DevLoop", targets: ["DevLoop"]),
    .library(name: "KubeSim", targets: ["KubeSim"]),
]

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
]

var targets: [Target] = [
    // libcurl (Debian's libcurl4-openssl-dev) and typed wrappers for its variadic C API.
    .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .target(name: "CCurlShim", dependencies: ["CCurl"]),
    // zlib, for SPDY/3.1 header compression in port-forward (kubesim's server, devloop's client).
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
    // The SPDY/3 header dictionary both ends of a port-forward prime zlib with (client and kubesim).
    .target(name: "SPDYCompression"),
    // The one lock box (a Mutex in a class) for state shared by reference: devloop, kubesim, tests.
    .target(name: "LockedValue"),

    // The devloop library: one folder per stage (Config, Watch, Sync, Kube, Forward, Logs, Session).
    .target(
        name: "DevLoop",
        dependencies: [
            "CCurlShim",
            "CZlib",
            "LockedValue",
            "SPDYCompression",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .executableTarget(
        name: "DevLoopCLI",
        // KubeSim: `up` starts the embedded cluster in-process when no kubeconfig context exists.
        dependencies: ["DevLoop", "KubeSim", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .executableTarget(
        name: "DevLoopBench",
        dependencies: [
            "DevLoop", "KubeSim", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),

    // kubesim: an API server and a kubelet in one process, pods as local processes.
    // CKubeSimSys: the Linux calls its pod runtime needs that Swift's Glibc module leaves out (setns, fork+exec).
    .target(name: "CKubeSimSys"),
    .target(
        name: "KubeSim",
        dependencies: nio + [
            "CZlib",
            "CKubeSimSys",
            "LockedValue",
            "SPDYCompression",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]
    ),
    .executableTarget(
        name: "KubeSimCLI",
        dependencies: ["KubeSim", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),

    // Tests that need a real peer (kubesim, a TLS server) start it themselves on 127.0.0.1.
    // How the test targets await processes and their output: off the cooperative pool, with deadlines.
    .target(name: "ProcessTestSupport", path: "Tests/ProcessTestSupport"),
    .testTarget(
        name: "DevLoopTests", dependencies: nio + ["DevLoop", "KubeSim", "LockedValue", "ProcessTestSupport"],
        exclude: ["Fixtures"]),
    .testTarget(
        name: "KubeSimTests",
        dependencies: nio + [
            "KubeSim", "SPDYCompression", "ProcessTestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
]

if withWebApp {
    products.append(.executable(name: "WebApp", targets: ["WebApp"]))
    dependencies += [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.8.0"),
    ]
    targets += [
        // The web app devloop develops: a library for the routes and storage, a thin executable.
        .target(
            name: "WebAppCore",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Templates")]
        ),
        .executableTarget(name: "WebApp", dependencies: ["WebAppCore"]),
        .testTarget(
            name: "WebAppTests",
            dependencies: [
                "WebAppCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
}

let package = Package(
    name: "devloop",
    platforms: [.macOS(.v14)],
    products: products,
    dependencies: dependencies,
    targets: targets
)
