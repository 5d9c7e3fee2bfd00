/// Field numbers of the Kubernetes types kubectl creates through protobuf (k8s.io/api generated.proto).
enum Schemas {
    static let objectMeta: Protobuf.Schema = [
        1: ("name", .string), 2: ("generateName", .string), 3: ("namespace", .string),
        11: ("labels", .map(.string)), 12: ("annotations", .map(.string)), 14: ("finalizers", .repeated(.string)),
    ]
    static let labelSelector: Protobuf.Schema = [
        1: ("matchLabels", .map(.string)),
        2: (
            "matchExpressions",
            .repeated(.message([1: ("key", .string), 2: ("operator", .string), 3: ("values", .repeated(.string))]))
        ),
    ]
    static let container: Protobuf.Schema = [
        1: ("name", .string), 2: ("image", .string), 3: ("command", .repeated(.string)),
        4: ("args", .repeated(.string)), 5: ("workingDir", .string),
        6: (
            "ports",
            .repeated(
                .message([
                    1: ("name", .string), 2: ("hostPort", .int), 3: ("containerPort", .int), 4: ("protocol", .string),
                ]))
        ),
        7: ("env", .repeated(.message([1: ("name", .string), 2: ("value", .string)]))),
        9: (
            "volumeMounts",
            .repeated(.message([1: ("name", .string), 2: ("readOnly", .bool), 3: ("mountPath", .string)]))
        ),
        13: ("terminationMessagePath", .string), 14: ("imagePullPolicy", .string), 16: ("stdin", .bool),
        18: ("tty", .bool),
    ]
    static let podSpec: Protobuf.Schema = [
        2: ("containers", .repeated(.message(container))), 3: ("restartPolicy", .string),
        4: ("terminationGracePeriodSeconds", .int), 6: ("dnsPolicy", .string), 7: ("nodeSelector", .map(.string)),
        8: ("serviceAccountName", .string), 10: ("nodeName", .string), 19: ("schedulerName", .string),
        20: ("initContainers", .repeated(.message(container))),
    ]
    static let podTemplate: Protobuf.Schema = [1: ("metadata", .message(objectMeta)), 2: ("spec", .message(podSpec))]
    static let deploymentSpec: Protobuf.Schema = [
        1: ("replicas", .int), 2: ("selector", .message(labelSelector)), 3: ("template", .message(podTemplate)),
        4: ("strategy", .message([1: ("type", .string)])), 5: ("minReadySeconds", .int),
        6: ("revisionHistoryLimit", .int), 7: ("paused", .bool), 9: ("progressDeadlineSeconds", .int),
    ]
    static let servicePort: Protobuf.Schema = [
        1: ("name", .string), 2: ("protocol", .string), 3: ("port", .int), 4: ("targetPort", .intOrString),
        5: ("nodePort", .int),
    ]
    static let serviceSpec: Protobuf.Schema = [
        1: ("ports", .repeated(.message(servicePort))), 2: ("selector", .map(.string)), 3: ("clusterIP", .string),
        4: ("type", .string),
    ]

    static let jobSpec: Protobuf.Schema = [
        1: ("parallelism", .int), 2: ("completions", .int), 3: ("activeDeadlineSeconds", .int),
        4: ("selector", .message(labelSelector)), 5: ("manualSelector", .bool), 6: ("template", .message(podTemplate)),
        7: ("backoffLimit", .int), 8: ("ttlSecondsAfterFinished", .int), 9: ("completionMode", .string),
        10: ("suspend", .bool),
    ]
    static let cronJobSpec: Protobuf.Schema = [
        1: ("schedule", .string), 2: ("startingDeadlineSeconds", .int), 3: ("concurrencyPolicy", .string),
        4: ("suspend", .bool),
        5: ("jobTemplate", .message([1: ("metadata", .message(objectMeta)), 2: ("spec", .message(jobSpec))])),
        6: ("successfulJobsHistoryLimit", .int), 7: ("failedJobsHistoryLimit", .int), 8: ("timeZone", .string),
    ]

    /// Kinds whose message differs between the versions kubesim serves.
    static let byVersionAndKind: [String: Protobuf.Schema] = [
        // `kubectl autoscale`: autoscaling/v1's CPU target (v2's spec numbers 4 and 5 differently).
        "autoscaling/v1 HorizontalPodAutoscaler": [
            1: ("metadata", .message(objectMeta)),
            2: (
                "spec",
                .message([
                    1: (
                        "scaleTargetRef",
                        .message([1: ("kind", .string), 2: ("name", .string), 3: ("apiVersion", .string)])
                    ),
                    2: ("minReplicas", .int), 3: ("maxReplicas", .int), 4: ("targetCPUUtilizationPercentage", .int),
                ])
            ),
        ]
    ]

    static let byKind: [String: Protobuf.Schema] = [
        "Job": [1: ("metadata", .message(objectMeta)), 2: ("spec", .message(jobSpec))],
        "CronJob": [1: ("metadata", .message(objectMeta)), 2: ("spec", .message(cronJobSpec))],
        "ServiceAccount": [1: ("metadata", .message(objectMeta)), 4: ("automountServiceAccountToken", .bool)],
        "PodDisruptionBudget": [
            1: ("metadata", .message(objectMeta)),
            2: (
                "spec",
                .message([
                    1: ("minAvailable", .intOrString), 2: ("selector", .message(labelSelector)),
                    3: ("maxUnavailable", .intOrString),
                ])
            ),
        ],
        "Namespace": [
            1: ("metadata", .message(objectMeta)), 2: ("spec", .message([1: ("finalizers", .repeated(.string))])),
        ],
        "ConfigMap": [
            1: ("metadata", .message(objectMeta)), 2: ("data", .map(.string)), 3: ("binaryData", .map(.bytes)),
            4: ("immutable", .bool),
        ],
        "Secret": [
            1: ("metadata", .message(objectMeta)), 2: ("data", .map(.bytes)), 3: ("type", .string),
            4: ("stringData", .map(.string)), 5: ("immutable", .bool),
        ],
        "Pod": [1: ("metadata", .message(objectMeta)), 2: ("spec", .message(podSpec))],
        "Deployment": [1: ("metadata", .message(objectMeta)), 2: ("spec", .message(deploymentSpec))],
        "Service": [1: ("metadata", .message(objectMeta)), 2: ("spec", .message(serviceSpec))],
        "Event": [
            1: ("metadata", .message(objectMeta)), 3: ("reason", .string), 4: ("message", .string),
            9: ("type", .string),
        ],
        "SelfSubjectAccessReview": [1: ("metadata", .message(objectMeta))],
        "SelfSubjectRulesReview": [
            1: ("metadata", .message(objectMeta)), 2: ("spec", .message([1: ("namespace", .string)])),
        ],
        // `kubectl create token`: TokenRequestSpec's audiences (1) and expirationSeconds (4).
        "TokenRequest": [
            1: ("metadata", .message(objectMeta)),
            2: ("spec", .message([1: ("audiences", .repeated(.string)), 4: ("expirationSeconds", .int)])),
        ],
        "SelfSubjectReview": [1: ("metadata", .message(objectMeta))],
    ]
}
