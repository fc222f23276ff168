"""Every exception Unkai raises on purpose, in one tree, so a caller can tell whose move it is.

The two branches answer the question a user has when something fails: *is it my input,
or the place it runs?* A :class:`UserError` goes away when the user changes what they
gave (func.yaml, a manifest, a flag, the function's code, a request); a
:class:`TargetError` goes away when the environment changes (a platform is started, a
port is freed, a namespace is created, the network comes back). The CLI maps the whole
tree once (``unkai.cli.console.reported``) to one red line and exit code 1; nothing
below the CLI formats errors for a terminal.

Classes keep the builtin base they had before the tree existed (``ValueError``,
``LookupError``, ``RuntimeError``) where callers catch them by it::

    UnkaiError
    ├── UserError                         the user's input is wrong
    │   ├── SourceError (ValueError)          api.yamlsource: YAML or a model, with lines
    │   ├── InvalidEventError (ValueError)    events.http: not a CloudEvent
    │   ├── CesqlParseError (ValueError)      events.cesql.errors: not a CESQL expression
    │   ├── EvaluationError                   events.cesql.errors: failed on one event
    │   ├── LoadError                         runtime.loader: the function cannot be served
    │   │   └── EnvReferenceError                 runtime.environment: a Secret's key unset
    │   ├── LifespanFailedError               runtime.signatures.lifespan: its startup failed
    │   ├── BodyTooLargeError                 runtime.bodies: over runtime.max_body_size
    │   ├── NoSinkError                       runtime.sink: send_event with no K_SINK
    │   ├── RequirementsError (RuntimeError)  build.requirements: cannot be installed
    │   │   ├── InstallCancelledError             build.pip: its revision went away
    │   │   └── NoWheelError                      build.sources: none for the image's platform
    │   ├── ImageReferenceError (ValueError)  build.references: not an image reference
    │   ├── CredentialsError                  build.credentials: docker config or helper
    │   ├── RegistryAuthError                 build.registry: credentials refused or missing
    │   ├── PlatformError                     build.platforms: no wheels for that platform
    │   ├── NotRunnableError                  build.unpack: no process can run that image
    │   ├── BundleError (ValueError)          platform.bundles.archive: not a bundle
    │   ├── QuantityError (ValueError)        platform.runners.limits: not a quantity
    │   ├── IgnoreFileError (ValueError)      platform.bundles.ignore: bad .funcignore
    │   ├── RequestRejectedError              platform.gateway.headers: a bad HTTP request
    │   ├── ApiError                          platform.apiserver.errors: a refused API request
    │   │   └── ApplyConflictError                platform.apiserver.managed
    │   ├── PatchError (ValueError)           platform.apiserver.patching
    │   ├── WireError (ValueError)            platform.apiserver.wire: malformed body
    │   ├── _RefusedError (ValueError)        platform.apiserver.bodies: a number not stored
    │   ├── _UnassignedError                  platform.controllers.route: traffic to nothing
    │   ├── TTLExhaustedError                 platform.eventing.brokers: a reply loop
    │   ├── TrafficError (ValueError)         kube.traffic: the --split/--tag flags
    │   ├── UnknownKindError (ValueError)     kube.client: a kind Unkai does not manage
    │   ├── FlagError (ValueError)            kube.eventing: a broker/trigger/source flag
    │   ├── FunctionCodeError                 kube.checks: the code, checked before upload
    │   └── UnknownContextError               kube.contexts: not in the kubeconfig
    └── TargetError                       the environment or the target failed or refused
        ├── StoreError                        platform.store.errors: refused by the store
        │   ├── NotFoundError
        │   ├── AlreadyExistsError
        │   ├── ConflictError
        │   └── ExpiredError
        ├── BundleNotFoundError (LookupError) platform.bundles.store: never uploaded
        ├── OverloadedError                   platform.gateway.activator: queue full
        ├── UnavailableError                  platform.gateway.activator: crash loop, no instance
        ├── RegistryError                     build.registry: unreachable, refused, failed
        ├── EventStoreError                   platform.eventing.store: an event not stored
        ├── RunnerError                       platform.runners.base: no instance
        │   └── InstanceStartError
        ├── NoTargetError (RuntimeError)      kube.client: local platform stopped, no kubeconfig
        ├── UploadError (RuntimeError)        kube.uploads: bundle refused
        ├── NotReadyError                     kube.deploy: the revision did not come up
        ├── NoNamespaceError                  kube.deploy: deploying to a missing namespace
        ├── SinkNotReadyError                 kube.sinks: func.yaml's sink has no address
        ├── SinkRefusedError                  runtime.sink: the sink did not take an event
        ├── AlreadyRunningError               cli.records: another `unkai run` serves it
        ├── DataDirInUseError (RuntimeError)  platform.state: another `unkai up` holds it
        └── CertificateError (RuntimeError)   platform.apiserver.tls: the API's certificate failed

``unkai.cli.console.Failure`` sits directly under the root: it is what the CLI shows,
for problems of either kind that a command finds itself.

This module imports nothing of Unkai's (it is the lowest layer) and nothing outside the
standard library: the function runtime imports it, and cold start is paid in imports.
"""

from __future__ import annotations


class UnkaiError(Exception):
    """Root of every exception Unkai raises on purpose; the message is for the user."""


class UserError(UnkaiError):
    """The user's input is wrong; changing it (not the environment) fixes the problem."""


class TargetError(UnkaiError):
    """The environment or the target (machine, platform, cluster, network) failed or
    refused; the same input may succeed once it changes."""
