import Foundation
import KubeSim
import Testing

/// Issue 9: the environment a kubelet gives a container.
@Suite(.serialized) struct EnvironmentKubectlTests {
    @Test func valueFromEnvFromExpansionAndServiceVariables() async throws {
        try await PodSpecKubectlTests.withCluster("env") { cluster in
            let objects = """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: settings}
                data: {mode: dev, level: debug}
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: db}
                stringData: {url: "postgres://db:5432/app"}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: back-end}
                spec:
                  clusterIP: 10.96.0.20
                  selector: {app: back-end}
                  ports: [{name: http, port: 8080, targetPort: 8080}]
                """
            #expect(try await cluster.apply(objects).status == 0)
            let extra = """
                    env:
                    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
                    - {name: DATABASE_URL, valueFrom: {secretKeyRef: {name: db, key: url}}}
                    - {name: OPTIONAL, valueFrom: {secretKeyRef: {name: db, key: nope, optional: true}}}
                    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
                    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
                    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
                    - {name: GREETING, value: "$(MODE) in $(NS)"}
                    envFrom:
                    - {prefix: CFG_, configMapRef: {name: settings}}
                """
            var pod = PodSpecKubectlTests.pod(
                "env", command: "env | sort; sleep 3600", extra: extra
            )
            pod = pod.replacingOccurrences(of: "  name: env\n", with: "  name: env\n  labels: {app: shop}\n")
            #expect(try await cluster.apply(pod).status == 0)
            try await cluster.waitUntilRunning("env")
            var logs = ""
            try await eventually("the environment in the log") {
                logs = try await cluster.run(["logs", "env"]).stdout
                return logs.contains("PATH=")
            }
            for line in [
                "MODE=dev", "DATABASE_URL=postgres://db:5432/app", "POD=env", "NS=spec", "IP=127.0.0.1", "APP=shop",
                "GREETING=dev in spec", "CFG_mode=dev", "CFG_level=debug", "BACK_END_SERVICE_HOST=10.96.0.20",
                "BACK_END_SERVICE_PORT=8080", "BACK_END_SERVICE_PORT_HTTP=8080",
            ] {
                #expect(logs.split(separator: "\n").contains(Substring(line)), "\(line) missing in \(logs)")
            }
            #expect(!logs.contains("OPTIONAL="))
            // stringData was folded into data.
            #expect(try await cluster.jsonpath("secret/db", ".data.url") == "cG9zdGdyZXM6Ly9kYjo1NDMyL2FwcA==")
            #expect(try await cluster.jsonpath("secret/db", ".stringData") == "")
        }
    }

    /// A missing key: the container waits with CreateContainerConfigError until the key exists.
    @Test func aMissingKeyWaitsWithCreateContainerConfigError() async throws {
        try await PodSpecKubectlTests.withCluster("env-missing") { cluster in
            let extra = """
                    env:
                    - {name: TOKEN, valueFrom: {secretKeyRef: {name: later, key: token}}}
                """
            #expect(
                try await cluster.apply(
                    PodSpecKubectlTests.pod("waits", command: "echo $TOKEN; sleep 3600", extra: extra)
                ).status == 0)
            try await eventually("CreateContainerConfigError") {
                try await cluster.jsonpath("pod/waits", ".status.containerStatuses[0].state.waiting.reason")
                    == "CreateContainerConfigError"
            }
            #expect(
                try await cluster.jsonpath("pod/waits", ".status.containerStatuses[0].state.waiting.message")
                    == #"secret "later" not found"#)
            #expect(try await cluster.jsonpath("pod/waits", ".status.phase") == "Pending")
            let created = try await cluster.run(["create", "secret", "generic", "later", "--from-literal=token=s3cret"])
            #expect(created.status == 0, "\(created.stderr)")
            try await cluster.waitUntilRunning("waits")
            try await eventually("the token in the log") {
                try await cluster.run(["logs", "waits"]).stdout.contains("s3cret")
            }
        }
    }
}

/// Issue 9: init containers run in order, each to completion, before the containers.
@Suite(.serialized) struct InitContainerKubectlTests {
    @Test func initContainersRunInOrderWithStatusesAndLogs() async throws {
        try await PodSpecKubectlTests.withCluster("init") { cluster in
            let pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: staged}
                spec:
                  terminationGracePeriodSeconds: 1
                  initContainers:
                  - name: first
                    image: busybox
                    command: ["sh", "-c", "echo first-ran; echo first >> /work/order"]
                    volumeMounts: [{name: work, mountPath: /work}]
                  - name: second
                    image: busybox
                    command: ["sh", "-c", "while [ ! -e /work/go ]; do sleep 0.1; done; echo second >> /work/order"]
                    volumeMounts: [{name: work, mountPath: /work}]
                  containers:
                  - name: main
                    image: busybox
                    command: ["sh", "-c", "cat /work/order; sleep 3600"]
                    volumeMounts: [{name: work, mountPath: /work}]
                  volumes:
                  - {name: work, emptyDir: {}}
                """
            #expect(try await cluster.apply(pod).status == 0)
            try await eventually("Init:1/2 in kubectl get pods") {
                try await cluster.run(["get", "pod", "staged", "--no-headers"]).stdout.contains("Init:1/2")
            }
            #expect(try await cluster.jsonpath("pod/staged", ".status.phase") == "Pending")
            #expect(
                try await cluster.jsonpath("pod/staged", ".status.initContainerStatuses[0].state.terminated.reason")
                    == "Completed")
            #expect(try await cluster.run(["logs", "staged", "-c", "first"]).stdout == "first-ran\n")
            let volume = try #require(
                FileManager.default.enumerator(atPath: cluster.directory.path)?.compactMap { $0 as? String }
                    .first { $0.hasSuffix("volumes/work/order") })
            try Data().write(
                to: cluster.directory.appendingPathComponent(volume).deletingLastPathComponent()
                    .appendingPathComponent("go"))
            try await cluster.waitUntilRunning("staged")
            try await eventually("the main container's log") {
                try await cluster.run(["logs", "staged", "-c", "main"]).stdout == "first\nsecond\n"
            }
        }
    }
}

/// Issue 9, never silent: fields kubesim stores but does not act on are named in warnings and events.
@Suite(.serialized) struct UnhonouredFieldKubectlTests {
    @Test func ignoredFieldsGetAWarningHeaderAndAPodEvent() async throws {
        try await PodSpecKubectlTests.withCluster("warnings") { cluster in
            let extra = """
                    resources:
                      limits: {memory: 64Mi}
                  nodeSelector: {disktype: ssd}
                """
            let applied = try await cluster.apply(
                PodSpecKubectlTests.pod("limited", command: "sleep 3600", extra: extra))
            #expect(applied.status == 0, "\(applied.stderr)")
            #expect(
                applied.stderr.contains("Warning: spec.nodeSelector: ignored by kubesim"), "\(applied.stderr)")
            #expect(
                applied.stderr.contains("Warning: spec.containers[0].resources: requests and limits are not enforced"),
                "\(applied.stderr)")
            try await eventually("a FieldIgnored event on the pod") {
                try await cluster.run(["get", "events", "--field-selector", "reason=FieldIgnored"]).stdout
                    .contains("spec.nodeSelector: ignored by kubesim")
            }
        }
    }
}

/// Issue 9: a paused Deployment does not roll, and scaling is recorded as a cluster records it.
@Suite(.serialized) struct DeploymentEventKubectlTests {
    @Test func pausedDeploymentDoesNotRollAndScalingIsAnEvent() async throws {
        try await PodSpecKubectlTests.withCluster("paused") { cluster in
            #expect(try await cluster.apply(DryRunKubectlTests.deployment(replicas: 1)).status == 0)
            try await eventually("a ScalingReplicaSet event") {
                try await cluster.run(["get", "events", "--field-selector", "reason=ScalingReplicaSet"]).stdout
                    .contains("Scaled up replica set dry-")
            }
            #expect(try await cluster.run(["rollout", "pause", "deploy/dry"]).status == 0)
            let changed = try await cluster.run(["set", "image", "deploy/dry", "app=busybox:2"])
            #expect(changed.status == 0, "\(changed.stderr)")
            // The controller acts on every change; the next ones (a scale) show it kept one ReplicaSet.
            #expect(try await cluster.run(["scale", "deploy/dry", "--replicas", "2"]).status == 0)
            try await eventually("the paused Deployment scaled its ReplicaSet") {
                try await cluster.jsonpath("rs", ".items[*].spec.replicas") == "2"
            }
            #expect(try await cluster.jsonpath("rs", ".items[*].spec.template.spec.containers[0].image") == "busybox:1")
            #expect(try await cluster.run(["rollout", "resume", "deploy/dry"]).status == 0)
            try await eventually("a second ReplicaSet once resumed") {
                try await cluster.jsonpath("rs", ".items[*].spec.template.spec.containers[0].image")
                    .split(separator: " ").sorted() == ["busybox:1", "busybox:2"]
            }
        }
    }
}

/// Issue 9: configMap, secret, projected and downwardAPI volumes, one file per key.
@Suite(.serialized) struct FileVolumeKubectlTests {
    @Test func configMapSecretProjectedAndDownwardAPIVolumes() async throws {
        try await PodSpecKubectlTests.withCluster("volumes") { cluster in
            let objects = """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: app-config}
                data: {app.yaml: "port: 8080", other: x}
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: app-secret}
                stringData: {password: hunter2}
                """
            #expect(try await cluster.apply(objects).status == 0)
            let extra = """
                    volumeMounts:
                    - {name: config, mountPath: /etc/app}
                    - {name: secret, mountPath: /var/run/secret-files}
                    - {name: all, mountPath: /projected}
                    - {name: info, mountPath: /info}
                  volumes:
                  - name: config
                    configMap:
                      name: app-config
                      items: [{key: app.yaml, path: conf/app.yaml}]
                  - name: secret
                    secret: {secretName: app-secret, defaultMode: 0400}
                  - name: all
                    projected:
                      sources:
                      - configMap: {name: app-config}
                      - secret: {name: app-secret}
                  - name: info
                    downwardAPI:
                      items: [{path: name, fieldRef: {fieldPath: metadata.name}}]
                """
            let script =
                "cat /etc/app/conf/app.yaml; echo; ls /etc/app; cat /var/run/secret-files/password; echo;"
                + " stat -c %a /var/run/secret-files/password; cat /projected/other /projected/password; echo;"
                + " cat /info/name; echo; touch /etc/app/x 2>/dev/null || echo read-only; sleep 3600"
            let applied = try await cluster.apply(PodSpecKubectlTests.pod("files", command: script, extra: extra))
            #expect(applied.status == 0, "\(applied.stderr)")
            try await cluster.waitUntilRunning("files")
            try await eventually("the files in the log") {
                try await cluster.run(["logs", "files"]).stdout.contains("read-only")
            }
            let logs = try await cluster.run(["logs", "files"]).stdout
            #expect(logs == "port: 8080\nconf\nhunter2\n400\nxhunter2\nfiles\nread-only\n", "\(logs)")
        }
    }
}

/// Issue 9: probe failures and the kills they cause are events, as on a cluster.
@Suite(.serialized) struct ProbeEventKubectlTests {
    @Test func failedProbesAreUnhealthyEventsAndALivenessKillIsKilling() async throws {
        try await PodSpecKubectlTests.withCluster("probe-events") { cluster in
            let extra = """
                    readinessProbe:
                      httpGet: {path: /ready, port: 9}
                      periodSeconds: 1
                    livenessProbe:
                      tcpSocket: {port: 9}
                      periodSeconds: 1
                      failureThreshold: 2
                """
            #expect(
                try await cluster.apply(PodSpecKubectlTests.pod("sick", command: "sleep 3600", extra: extra)).status
                    == 0)
            try await eventually("Unhealthy and Killing events") {
                let events = try await cluster.run(["get", "events", "--field-selector", "involvedObject.name=sick"])
                    .stdout
                return events.contains("Readiness probe failed: Get \"http://127.0.0.1:9/ready\"")
                    && events.contains("Liveness probe failed: dial tcp 127.0.0.1:9")
                    && events.contains("Container main failed liveness probe, will be restarted")
            }
        }
    }
}

/// Issue 9: securityContext's user and groups, and a volume where the host's folders are read-only.
@Suite(.serialized) struct SecurityContextKubectlTests {
    @Test func runAsUserGroupAndFsGroupWithAnEmptyDirUnderEtc() async throws {
        try await PodSpecKubectlTests.withCluster("run-as") { cluster in
            let extra = """
                    securityContext: {runAsUser: 1000, runAsGroup: 3000}
                    volumeMounts: [{name: data, mountPath: /etc/app}]
                  securityContext: {fsGroup: 2000}
                  volumes: [{name: data, emptyDir: {}}]
                """
            let script = "id -u; id -g; id -G; touch /etc/app/written && echo wrote; sleep 3600"
            let applied = try await cluster.apply(PodSpecKubectlTests.pod("user", command: script, extra: extra))
            #expect(applied.status == 0, "\(applied.stderr)")
            #expect(!applied.stderr.contains("securityContext"), "\(applied.stderr)")
            try await cluster.waitUntilRunning("user")
            try await eventually("the ids in the log") {
                try await cluster.run(["logs", "user"]).stdout.contains("wrote")
            }
            #expect(try await cluster.run(["logs", "user"]).stdout == "1000\n3000\n3000 2000\nwrote\n")
            let exec = try await cluster.run(["exec", "user", "--", "id", "-u"])
            #expect(exec.stdout == "1000\n", "\(exec.stderr)")
        }
    }
}
