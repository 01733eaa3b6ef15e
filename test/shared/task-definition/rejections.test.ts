import { describe, expect, test } from "bun:test";
import { accepted, container, expectIssues, expectOnlyIssue, rejected, task, withContainer, type Json } from "./helpers.ts";

/** [what, body, exact path of the only issue, message fragment] */
type Case = [string, Json, string, string | RegExp];

const C0 = "containerDefinitions[0]";
const C1 = "containerDefinitions[1]";

function runCases(cases: Case[]) {
  for (const [what, body, path, message] of cases) {
    test(what, () => {
      expectOnlyIssue(body, path, message);
    });
  }
}

describe("task-level fields", () => {
  runCases([
    ["family with a space", task({ family: "my app" }), "family", "family must be 1 to 255 letters, digits, hyphens or underscores."],
    ["family too long", task({ family: "a".repeat(256) }), "family", "1 to 255"],
    ["no container definitions", task({ containerDefinitions: [] }), "containerDefinitions", "At least one container definition is required."],
    [
      "more than 10 containers",
      task({}, Array.from({ length: 11 }, (_, i) => container({ name: `c${i}` }))),
      "containerDefinitions",
      "at most 10",
    ],
    ["unknown network mode", task({ networkMode: "nat" }), "networkMode", 'networkMode must be one of "bridge", "host", "awsvpc" or "none", not "nat".'],
    ["unknown compatibility", task({ requiresCompatibilities: ["EC3"] }), "requiresCompatibilities[0]", '"EXTERNAL", "EC2" or "FARGATE"'],
    ["task cpu below 128", task({ cpu: 100 }), "cpu", "cpu must be between 128 and 196608, not 100."],
    ["task cpu fractional vCPU", task({ cpu: "0.3 vCPU" }), "cpu", 'not "0.3 vCPU"'],
    ["task cpu nonsense", task({ cpu: "lots" }), "cpu", "vCPU"],
    ["task cpu boolean", task({ cpu: true }), "cpu", "not true"],
    ["task cpu negative", task({ cpu: -256 }), "cpu", "not -256"],
    ["task memory in TB", task({ memory: "2 TB" }), "memory", 'memory must be MiB (512, "512", "512 MiB") or GB ("2 GB", "2GB"), not "2 TB".'],
    ["task memory fraction of a MiB", task({ memory: "1.5 MiB" }), "memory", "not \"1.5 MiB\""],
    ["task memory float number", task({ memory: 512.5 }), "memory", "not 512.5"],
    ["task memory below 6 MiB", task({ memory: 4 }), "memory", "between 6 and"],
    ["pidMode", task({ pidMode: "container" }), "pidMode", '"host" or "task"'],
    ["ipcMode", task({ ipcMode: "shareable" }), "ipcMode", '"host", "task" or "none"'],
    ["runtimePlatform Windows", task({ runtimePlatform: { operatingSystemFamily: "WINDOWS_SERVER_2022_CORE" } }), "runtimePlatform.operatingSystemFamily", "Linux containers only"],
    ["runtimePlatform lowercase arch", task({ runtimePlatform: { cpuArchitecture: "arm64" } }), "runtimePlatform.cpuArchitecture", '"X86_64" or "ARM64"'],
    ["placement distinctInstance", task({ placementConstraints: [{ type: "distinctInstance", expression: "x" }] }), "placementConstraints[0].type", "applies to services only"],
    ["placement without expression", task({ placementConstraints: [{ type: "memberOf" }] }), "placementConstraints[0].expression", "expression is required."],
    [
      "more than 10 placement constraints",
      task({ placementConstraints: Array.from({ length: 11 }, () => ({ type: "memberOf", expression: "attribute:a == b" })) }),
      "placementConstraints",
      "at most 10 entries",
    ],
    ["tags: empty key", task({ tags: [{ key: "", value: "x" }] }), "tags[0].key", "key must not be empty."],
    ["tags: more than 50", task({ tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}` })) }), "tags", "at most 50 entries"],
    ["ephemeralStorage below 21 GiB", task({ ephemeralStorage: { sizeInGiB: 20 } }), "ephemeralStorage.sizeInGiB", "at least 21 GiB"],
    ["inferenceAccelerators non-empty", task({ inferenceAccelerators: [{ deviceName: "d", deviceType: "eia2.medium" }] }), "inferenceAccelerators", "Elastic Inference"],
    ["proxyConfiguration", task({ proxyConfiguration: { type: "APPMESH", containerName: "envoy" } }), "proxyConfiguration", "App Mesh"],
    ["taskRoleArn not a string", task({ taskRoleArn: 7 }), "taskRoleArn", "taskRoleArn must be a string, not 7."],
    ["enableFaultInjection not boolean", task({ enableFaultInjection: "yes" }), "enableFaultInjection", "true or false"],
  ]);
});

describe("unknown and describe-only fields are refused by name", () => {
  runCases([
    ["a typo at task level gets a suggestion", task({ netwrokMode: "host" }), "netwrokMode", "netwrokMode is not a known field; did you mean networkMode?"],
    ["a typo in a container gets a suggestion", withContainer({ essentail: false }), `${C0}.essentail`, `essentail is not a known field in ${C0}; did you mean essential?`],
    ["wrong case is a typo too", withContainer({ Image: "nginx" }), `${C0}.Image`, "did you mean image?"],
    ["a typo in a nested object", withContainer({ healthCheck: { command: ["NONE"], intervall: 10 } }), `${C0}.healthCheck.intervall`, "did you mean interval?"],
    ["a typo in a port mapping", withContainer({ portMappings: [{ containerPort: 80, hostport: 80 }] }), `${C0}.portMappings[0].hostport`, "did you mean hostPort?"],
    ["an unrelated field", task({ priority: 1 }), "priority", "priority is not a known field; check its spelling or remove it."],
  ]);

  test("a describe-task-definition response mixed with task definition fields is explained", () => {
    const issues = rejected({ ...task(), taskDefinition: task() });
    expect(issues).toContainEqual({
      path: "taskDefinition",
      message:
        "taskDefinition looks like a describe-task-definition response mixed with task definition fields; send either the whole response or the object inside taskDefinition.",
    });
  });

  test("errors inside a describe-task-definition response point into what was sent", () => {
    expectOnlyIssue({ taskDefinition: withContainer({ essentail: true }) }, `taskDefinition.${C0}.essentail`, "did you mean essential?");
  });

  test("several unknown fields in one object give one issue each", () => {
    expectIssues(task({ foo: 1, bar: 2 }), [
      ["foo", "foo is not a known field"],
      ["bar", "bar is not a known field"],
    ]);
  });
});

describe("container fields", () => {
  runCases([
    ["container name with a dot", withContainer({ name: "web.1" }), `${C0}.name`, "name must be 1 to 255 letters"],
    ["image with uppercase repository", withContainer({ image: "Nginx" }), `${C0}.image`, "lowercase repository name"],
    ["image with a space", withContainer({ image: "nginx latest" }), `${C0}.image`, "Docker image reference"],
    ["image with an empty tag", withContainer({ image: "nginx:" }), `${C0}.image`, "Docker image reference"],
    ["image missing", withContainer({ image: undefined }), `${C0}.image`, "image is required."],
    ["container cpu not numeric", withContainer({ cpu: "half" }), `${C0}.cpu`, 'cpu must be a whole number of CPU units (1024 = 1 vCPU) or a numeric string, not "half".'],
    ["container cpu vCPU string (task level only)", withContainer({ cpu: "1 vCPU" }), `${C0}.cpu`, "numeric string"],
    ["container memory below 6 MiB", withContainer({ memory: 4 }), `${C0}.memory`, "memory must be between 6 and 2147483647 MiB, not 4."],
    ["container memory with a unit", withContainer({ memory: "100 MiB" }), `${C0}.memory`, 'not "100 MiB"'],
    ["memoryReservation above memory", withContainer({ memory: 128, memoryReservation: 256 }), `${C0}.memoryReservation`, "memoryReservation (256 MiB) must not be greater than memory, the hard limit (128 MiB)."],
    ["memoryReservation below 6 MiB", withContainer({ memory: undefined, memoryReservation: "5" }), `${C0}.memoryReservation`, "between 6 and"],
    ["essential as a string", withContainer({ essential: "true" }), `${C0}.essential`, 'essential must be true or false, not "true".'],
    ["command not a list", withContainer({ command: "npm start" }), `${C0}.command`, "command must be a list (JSON array)"],
    ["command entry not a string", withContainer({ command: ["sleep", 5] }), `${C0}.command[1]`, "command[1] must be a string, not 5."],
    ["environmentFiles", withContainer({ environmentFiles: [{ value: "arn:aws:s3:::b/x.env", type: "s3" }] }), `${C0}.environmentFiles`, "does not fetch environment files from S3"],
    ["environment name with =", withContainer({ environment: [{ name: "A=B", value: "1" }] }), `${C0}.environment[0].name`, 'must not contain "="'],
    ["environment without value", withContainer({ environment: [{ name: "A" }] }), `${C0}.environment[0].value`, "value is required."],
    ["environment name repeated", withContainer({ environment: [{ name: "A", value: "1" }, { name: "A", value: "2" }] }), `${C0}.environment[1].name`, 'name "A" is already defined in environment[0].'],
    ["secret repeats an environment name", withContainer({ environment: [{ name: "A", value: "1" }], secrets: [{ name: "A", valueFrom: "s" }] }), `${C0}.secrets[0].name`, "already defined in environment[0]"],
    ["secret without valueFrom", withContainer({ secrets: [{ name: "A" }] }), `${C0}.secrets[0].valueFrom`, "valueFrom is required."],
    ["workingDirectory relative", withContainer({ workingDirectory: "app" }), `${C0}.workingDirectory`, "absolute path"],
    ["user with a space", withContainer({ user: "app user" }), `${C0}.user`, "user, uid, user:group or uid:gid"],
    ["hostname with underscore", withContainer({ hostname: "my_host" }), `${C0}.hostname`, "host name"],
    ["dockerLabels with reserved prefix", withContainer({ dockerLabels: { "flotilla.task-id": "x" } }), `${C0}.dockerLabels.flotilla.task-id`, 'reserved prefix "flotilla."'],
    ["dockerLabels value not a string", withContainer({ dockerLabels: { a: 1 } }), `${C0}.dockerLabels.a`, "a must be a string, not 1."],
    ["ulimit unknown name", withContainer({ ulimits: [{ name: "files", softLimit: 1, hardLimit: 1 }] }), `${C0}.ulimits[0].name`, '"nofile"'],
    ["ulimit soft above hard", withContainer({ ulimits: [{ name: "nofile", softLimit: 2048, hardLimit: 1024 }] }), `${C0}.ulimits[0].softLimit`, "softLimit (2048) must not be greater than hardLimit (1024)."],
    ["ulimit finite hard below unlimited soft", withContainer({ ulimits: [{ name: "memlock", softLimit: -1, hardLimit: 1024 }] }), `${C0}.ulimits[0].softLimit`, "must not be greater"],
    ["ulimit repeated", withContainer({ ulimits: [{ name: "nofile", softLimit: 1, hardLimit: 1 }, { name: "nofile", softLimit: 2, hardLimit: 2 }] }), `${C0}.ulimits[1].name`, "listed more than once"],
    ["ulimit missing hardLimit", withContainer({ ulimits: [{ name: "nofile", softLimit: 1 }] }), `${C0}.ulimits[0].hardLimit`, "hardLimit is required."],
    ["capability with CAP_ prefix", withContainer({ linuxParameters: { capabilities: { add: ["CAP_NET_ADMIN"] } } }), `${C0}.linuxParameters.capabilities.add[0]`, "without the CAP_ prefix"],
    ["device with relative hostPath", withContainer({ linuxParameters: { devices: [{ hostPath: "dev/fuse" }] } }), `${C0}.linuxParameters.devices[0].hostPath`, "hostPath must be an absolute path"],
    ["device path escaping with ..", withContainer({ linuxParameters: { devices: [{ hostPath: "/dev/../etc/shadow" }] } }), `${C0}.linuxParameters.devices[0].hostPath`, '".."'],
    ["device permission unknown", withContainer({ linuxParameters: { devices: [{ hostPath: "/dev/fuse", permissions: ["rw"] }] } }), `${C0}.linuxParameters.devices[0].permissions[0]`, '"read", "write" or "mknod"'],
    ["sharedMemorySize zero", withContainer({ linuxParameters: { sharedMemorySize: 0 } }), `${C0}.linuxParameters.sharedMemorySize`, "sharedMemorySize must be at least 1 MiB."],
    ["tmpfs without size", withContainer({ linuxParameters: { tmpfs: [{ containerPath: "/tmp" }] } }), `${C0}.linuxParameters.tmpfs[0].size`, "size is required."],
    ["tmpfs unknown mount option", withContainer({ linuxParameters: { tmpfs: [{ containerPath: "/tmp", size: 8, mountOptions: ["fast"] }] } }), `${C0}.linuxParameters.tmpfs[0].mountOptions[0]`, "not a tmpfs mount option"],
    ["maxSwap without memory", withContainer({ memory: undefined, memoryReservation: 64, linuxParameters: { maxSwap: 100 } }), `${C0}.linuxParameters.maxSwap`, "maxSwap needs the container's memory"],
    ["swappiness above 100", withContainer({ linuxParameters: { swappiness: 101 } }), `${C0}.linuxParameters.swappiness`, "swappiness must be at most 100."],
    ["stopTimeout below 2", withContainer({ stopTimeout: 1 }), `${C0}.stopTimeout`, "stopTimeout must be at least 2 seconds."],
    ["stopTimeout above 120", withContainer({ stopTimeout: 121 }), `${C0}.stopTimeout`, "stopTimeout must be at most 120 seconds."],
    ["stopTimeout fractional", withContainer({ stopTimeout: 2.5 }), `${C0}.stopTimeout`, "stopTimeout must be a whole number, not 2.5."],
    ["startTimeout below 2", withContainer({ startTimeout: 1 }), `${C0}.startTimeout`, "at least 2 seconds"],
    ["repositoryCredentials without parameter", withContainer({ repositoryCredentials: {} }), `${C0}.repositoryCredentials.credentialsParameter`, "credentialsParameter is required."],
    ["dnsServers with a name", withContainer({ dnsServers: ["dns.google"] }), `${C0}.dnsServers[0]`, "IPv4 or IPv6 address"],
    ["extraHosts with a bad address", withContainer({ extraHosts: [{ hostname: "db", ipAddress: "10.0.0" }] }), `${C0}.extraHosts[0].ipAddress`, "IPv4 or IPv6 address"],
    ["systemControls outside Docker's list", withContainer({ systemControls: [{ namespace: "vm.swappiness", value: "10" }] }), `${C0}.systemControls[0].namespace`, "not a namespaced sysctl"],
    ["systemControls repeated", withContainer({ systemControls: [{ namespace: "net.core.somaxconn", value: "1" }, { namespace: "net.core.somaxconn", value: "2" }] }), `${C0}.systemControls[1].namespace`, "more than once"],
    ["links to a container that does not exist", withContainer({ links: ["db"] }), `${C0}.links[0]`, 'link "db" does not name a container in this task definition.'],
    ["a link to itself", withContainer({ links: ["web:self"] }), `${C0}.links[0]`, "names this container itself"],
    ["a link with a bad alias", withContainer({ links: ["db:my alias"] }), `${C0}.links[0]`, "name:alias"],
    ["firelensConfiguration with an unknown type", withContainer({ firelensConfiguration: { type: "logstash" } }), `${C0}.firelensConfiguration.type`, '"fluentd" or "fluentbit"'],
    ["firelensConfiguration with an output option", withContainer({ firelensConfiguration: { type: "fluentbit", options: { Name: "cloudwatch" } } }), `${C0}.firelensConfiguration.options.Name`, "not a firelensConfiguration option"],
    ["firelensConfiguration config-file-type without value", withContainer({ firelensConfiguration: { type: "fluentbit", options: { "config-file-type": "file" } } }), `${C0}.firelensConfiguration.options`, "needs config-file-value"],
    ["firelensConfiguration config-file-type unknown", withContainer({ firelensConfiguration: { type: "fluentbit", options: { "config-file-type": "http", "config-file-value": "x" } } }), `${C0}.firelensConfiguration.options.config-file-type`, '"s3" or "file"'],
    ["resourceRequirements GPU count not a number", withContainer({ resourceRequirements: [{ type: "GPU", value: "all" }] }), `${C0}.resourceRequirements[0].value`, "number of GPUs"],
    ["resourceRequirements GPU count zero", withContainer({ resourceRequirements: [{ type: "GPU", value: "0" }] }), `${C0}.resourceRequirements[0].value`, "number of GPUs"],
    ["resourceRequirements GPU twice", withContainer({ resourceRequirements: [{ type: "GPU", value: "1" }, { type: "GPU", value: "2" }] }), `${C0}.resourceRequirements[1].type`, "more than once"],
    ["resourceRequirements inference accelerator", withContainer({ resourceRequirements: [{ type: "InferenceAccelerator", value: "d1" }] }), `${C0}.resourceRequirements[0].type`, "Elastic Inference"],
    ["resourceRequirements unknown type", withContainer({ resourceRequirements: [{ type: "TPU", value: "1" }] }), `${C0}.resourceRequirements[0].type`, '"GPU" or "InferenceAccelerator"'],
    ["dockerSecurityOptions unknown", withContainer({ dockerSecurityOptions: ["privileged"] }), `${C0}.dockerSecurityOptions[0]`, 'use "no-new-privileges", "apparmor:PROFILE"'],
    ["dockerSecurityOptions apparmor without profile", withContainer({ dockerSecurityOptions: ["apparmor:"] }), `${C0}.dockerSecurityOptions[0]`, "not a security option"],
    ["disableNetworking", withContainer({ disableNetworking: true }), `${C0}.disableNetworking`, 'networkMode "none"'],
    ["credentialSpecs", withContainer({ credentialSpecs: ["x"] }), `${C0}.credentialSpecs`, "credential specs"],
    ["versionConsistency value", withContainer({ versionConsistency: "on" }), `${C0}.versionConsistency`, '"enabled" or "disabled"'],
  ]);
});

describe("port mappings", () => {
  runCases([
    ["containerPort 0", withContainer({ portMappings: [{ containerPort: 0 }] }), `${C0}.portMappings[0].containerPort`, "containerPort must be at least 1."],
    ["containerPort above 65535", withContainer({ portMappings: [{ containerPort: 70000 }] }), `${C0}.portMappings[0].containerPort`, "containerPort must be at most 65535."],
    ["containerPort as a string", withContainer({ portMappings: [{ containerPort: "80" }] }), `${C0}.portMappings[0].containerPort`, 'must be a number, not "80"'],
    ["protocol sctp", withContainer({ portMappings: [{ containerPort: 80, protocol: "sctp" }] }), `${C0}.portMappings[0].protocol`, 'protocol must be one of "tcp" or "udp", not "sctp".'],
    ["containerPortRange", withContainer({ portMappings: [{ containerPort: 80, containerPortRange: "8000-8010" }] }), `${C0}.portMappings[0].containerPortRange`, "containerPortRange is not supported"],
    ["appProtocol unknown", withContainer({ portMappings: [{ containerPort: 80, appProtocol: "https" }] }), `${C0}.portMappings[0].appProtocol`, '"http", "http2" or "grpc"'],
    ["port mapping name with uppercase", withContainer({ portMappings: [{ containerPort: 80, name: "Web" }] }), `${C0}.portMappings[0].name`, "lowercase"],
    [
      "awsvpc hostPort different from containerPort",
      withContainer({ portMappings: [{ containerPort: 80 }, { containerPort: 443, hostPort: 8443 }] }, { networkMode: "awsvpc" }),
      `${C0}.portMappings[1].hostPort`,
      'hostPort must be absent or equal to containerPort (443) in networkMode "awsvpc".',
    ],
    [
      "host mode hostPort 0",
      withContainer({ portMappings: [{ containerPort: 80, hostPort: 0 }] }, { networkMode: "host" }),
      `${C0}.portMappings[0].hostPort`,
      'in networkMode "host"',
    ],
    [
      "bridge: two containers on the same tcp host port",
      task({}, [container({ portMappings: [{ containerPort: 80, hostPort: 8080 }] }), container({ name: "b", portMappings: [{ containerPort: 81, hostPort: 8080 }] })]),
      `${C1}.portMappings[0].hostPort`,
      `tcp host port 8080 is already used by ${C0}.portMappings[0].`,
    ],
    [
      "bridge: the same udp host port twice in one container",
      withContainer({ portMappings: [{ containerPort: 53, hostPort: 53, protocol: "udp" }, { containerPort: 54, hostPort: 53, protocol: "udp" }] }),
      `${C0}.portMappings[1].hostPort`,
      "udp host port 53 is already used",
    ],
    [
      "awsvpc: two containers on the same containerPort share one namespace",
      task({ networkMode: "awsvpc" }, [container({ portMappings: [{ containerPort: 80 }] }), container({ name: "b", portMappings: [{ containerPort: 80 }] })]),
      `${C1}.portMappings[0].containerPort`,
      `tcp host port 80 is already used by ${C0}.portMappings[0].`,
    ],
    [
      "none mode with port mappings",
      withContainer({ portMappings: [{ containerPort: 80 }] }, { networkMode: "none" }),
      `${C0}.portMappings`,
      'portMappings must be empty in networkMode "none"',
    ],
    [
      "port mapping names repeated across containers",
      task({}, [container({ portMappings: [{ containerPort: 80, name: "http" }] }), container({ name: "b", portMappings: [{ containerPort: 81, name: "http" }] })]),
      `${C1}.portMappings[0].name`,
      `name "http" is already used by ${C0}.portMappings[0].`,
    ],
  ]);

  test("the same host port on tcp and udp is fine, as are several dynamic ports", () => {
    const td = accepted(
      withContainer({
        portMappings: [
          { containerPort: 53, hostPort: 53, protocol: "tcp" },
          { containerPort: 53, hostPort: 53, protocol: "udp" },
          { containerPort: 80, hostPort: 0 },
          { containerPort: 81, hostPort: 0 },
          { containerPort: 82 },
        ],
      }),
    );
    expect(td.containerDefinitions[0]!.portMappings).toHaveLength(5);
  });

  test("awsvpc and host accept hostPort equal to containerPort", () => {
    for (const networkMode of ["awsvpc", "host"] as const) {
      expect(accepted(withContainer({ portMappings: [{ containerPort: 80, hostPort: 80 }] }, { networkMode })).networkMode).toBe(networkMode);
    }
  });
});

describe("network-mode rules for containers, as in ECS", () => {
  runCases([
    ["hostname in awsvpc", withContainer({ hostname: "web" }, { networkMode: "awsvpc" }), `${C0}.hostname`, 'hostname is not allowed in networkMode "awsvpc"'],
    ["hostname in host", withContainer({ hostname: "web" }, { networkMode: "host" }), `${C0}.hostname`, 'hostname is not allowed in networkMode "host"'],
    ["dnsServers in awsvpc", withContainer({ dnsServers: ["1.1.1.1"] }, { networkMode: "awsvpc" }), `${C0}.dnsServers`, 'dnsServers is not allowed in networkMode "awsvpc"'],
    ["dnsSearchDomains in awsvpc", withContainer({ dnsSearchDomains: ["example.com"] }, { networkMode: "awsvpc" }), `${C0}.dnsSearchDomains`, "not allowed"],
    ["extraHosts in awsvpc", withContainer({ extraHosts: [{ hostname: "db", ipAddress: "10.0.0.1" }] }, { networkMode: "awsvpc" }), `${C0}.extraHosts`, "not allowed"],
    ["net.* sysctl in host mode", withContainer({ systemControls: [{ namespace: "net.core.somaxconn", value: "1" }] }, { networkMode: "host" }), `${C0}.systemControls[0].namespace`, "host's network settings"],
    ["IPC sysctl with ipcMode host", withContainer({ systemControls: [{ namespace: "kernel.shmmax", value: "1" }] }, { ipcMode: "host" }), `${C0}.systemControls[0].namespace`, "host's IPC settings"],
  ]);

  test("hostname, DNS and extra hosts are fine in bridge mode", () => {
    const td = accepted(withContainer({ hostname: "web", dnsServers: ["1.1.1.1"], extraHosts: [{ hostname: "db", ipAddress: "::1" }] }));
    expect(td.containerDefinitions[0]!.hostname).toBe("web");
  });
});

describe("health checks", () => {
  const hc = (healthCheck: Json) => withContainer({ healthCheck });
  const P = `${C0}.healthCheck`;
  runCases([
    ["command without CMD/CMD-SHELL/NONE", hc({ command: ["curl", "-f", "http://localhost/"] }), `${P}.command`, 'command must start with "CMD", "CMD-SHELL" or "NONE", not "curl".'],
    ["CMD without a program", hc({ command: ["CMD"] }), `${P}.command`, 'name the program to run after "CMD"'],
    ["CMD-SHELL with split arguments", hc({ command: ["CMD-SHELL", "curl", "-f"] }), `${P}.command`, "one shell command line"],
    ["NONE with arguments", hc({ command: ["NONE", "x"] }), `${P}.command`, "takes no other entries"],
    ["empty command", hc({ command: [] }), `${P}.command`, "command must not be empty."],
    ["interval below 5", hc({ command: ["CMD", "true"], interval: 4 }), `${P}.interval`, "interval must be at least 5 seconds."],
    ["interval above 300", hc({ command: ["CMD", "true"], interval: 301 }), `${P}.interval`, "interval must be at most 300 seconds."],
    ["timeout below 2", hc({ command: ["CMD", "true"], timeout: 1 }), `${P}.timeout`, "timeout must be at least 2 seconds."],
    ["timeout above 60", hc({ command: ["CMD", "true"], timeout: 61 }), `${P}.timeout`, "timeout must be at most 60 seconds."],
    ["retries 0", hc({ command: ["CMD", "true"], retries: 0 }), `${P}.retries`, "retries must be at least 1."],
    ["retries above 10", hc({ command: ["CMD", "true"], retries: 11 }), `${P}.retries`, "retries must be at most 10."],
    ["startPeriod above 300", hc({ command: ["CMD", "true"], startPeriod: 301 }), `${P}.startPeriod`, "startPeriod must be at most 300 seconds."],
  ]);

  test("NONE and the range bounds are accepted, defaults are filled", () => {
    expect(accepted(hc({ command: ["NONE"] })).containerDefinitions[0]!.healthCheck).toEqual({ command: ["NONE"], interval: 30, timeout: 5, retries: 3 });
    const bounds = accepted(hc({ command: ["CMD", "true"], interval: 5, timeout: 60, retries: 10, startPeriod: 0 }));
    expect(bounds.containerDefinitions[0]!.healthCheck).toEqual({ command: ["CMD", "true"], interval: 5, timeout: 60, retries: 10, startPeriod: 0 });
  });
});

describe("log configuration", () => {
  const lc = (logConfiguration: Json) => withContainer({ logConfiguration });
  const P = `${C0}.logConfiguration`;
  runCases([
    ["unknown driver", lc({ logDriver: "loki" }), `${P}.logDriver`, 'logDriver "loki" is not a log driver ECS knows; use one of "json-file", "local", "awslogs"'],
    ["secretOptions name repeated", lc({ logDriver: "splunk", secretOptions: [{ name: "splunk-token", valueFrom: "a" }, { name: "splunk-token", valueFrom: "b" }] }), `${P}.secretOptions[1].name`, "more than once"],
    ["secretOptions name also in options", lc({ logDriver: "splunk", options: { "splunk-token": "x" }, secretOptions: [{ name: "splunk-token", valueFrom: "a" }] }), `${P}.secretOptions[0].name`, "already set in options"],
    ["missing driver", lc({ options: {} }), `${P}.logDriver`, "logDriver is required."],
    ["unknown json-file option", lc({ logDriver: "json-file", options: { "max-age": "3d" } }), `${P}.options.max-age`, '"max-age" is not an option of the json-file log driver'],
    ["json-file-only option on local", lc({ logDriver: "local", options: { labels: "a" } }), `${P}.options.labels`, "local log driver"],
    ["bad max-size", lc({ logDriver: "local", options: { "max-size": "ten megs" } }), `${P}.options.max-size`, 'max-size must be a size such as "10m"'],
    ["max-file 0", lc({ logDriver: "json-file", options: { "max-file": "0" } }), `${P}.options.max-file`, "max-file must be a whole number of at least 1"],
    ["compress yes", lc({ logDriver: "json-file", options: { compress: "yes" } }), `${P}.options.compress`, 'compress must be "true" or "false"'],
    ["mode async", lc({ logDriver: "json-file", options: { mode: "async" } }), `${P}.options.mode`, '"blocking" or "non-blocking"'],
    ["option value not a string", lc({ logDriver: "json-file", options: { "max-file": 3 } }), `${P}.options.max-file`, "must be a string"],
    ["secretOptions", lc({ logDriver: "json-file", secretOptions: [{ name: "a", valueFrom: "b" }] }), `${P}.secretOptions`, "takes no secrets"],
  ]);
});

describe("restart policy", () => {
  const rp = (restartPolicy: Json) => withContainer({ restartPolicy });
  const P = `${C0}.restartPolicy`;
  runCases([
    ["missing enabled", rp({ restartAttemptPeriod: 60 }), `${P}.enabled`, "enabled is required."],
    ["restartAttemptPeriod below 60", rp({ enabled: true, restartAttemptPeriod: 59 }), `${P}.restartAttemptPeriod`, "restartAttemptPeriod must be at least 60 seconds."],
    ["restartAttemptPeriod above 1800", rp({ enabled: true, restartAttemptPeriod: 1801 }), `${P}.restartAttemptPeriod`, "restartAttemptPeriod must be at most 1800 seconds."],
    ["more than 50 ignored exit codes", rp({ enabled: true, ignoredExitCodes: Array.from({ length: 51 }, (_, i) => i) }), `${P}.ignoredExitCodes`, "at most 50 entries"],
    ["ignored exit code not an integer", rp({ enabled: true, ignoredExitCodes: [1.5] }), `${P}.ignoredExitCodes[0]`, "whole number"],
  ]);

  test("essential and non-essential containers may both have one; 50 codes is the limit", () => {
    const td = accepted(
      task({}, [
        container({ restartPolicy: { enabled: true, ignoredExitCodes: Array.from({ length: 50 }, (_, i) => i) } }),
        container({ name: "side", essential: false, restartPolicy: { enabled: false } }),
      ]),
    );
    expect(td.containerDefinitions[0]!.restartPolicy?.ignoredExitCodes).toHaveLength(50);
    expect(td.containerDefinitions[1]!.restartPolicy).toEqual({ enabled: false, ignoredExitCodes: [], restartAttemptPeriod: 300 });
  });
});

describe("volumes, mount points and volumesFrom", () => {
  const vol = (volumes: Json[], c: Json = {}) => task({ volumes }, [container(c)]);
  runCases([
    ["volume name with a dot", vol([{ name: "a.b" }]), "volumes[0].name", "letters, digits, hyphens or underscores"],
    ["volume names repeated", vol([{ name: "data" }, { name: "data" }]), "volumes[1].name", 'name "data" is already used by another volume.'],
    ["relative sourcePath", vol([{ name: "data", host: { sourcePath: "data" } }]), "volumes[0].host.sourcePath", "sourcePath must be an absolute path"],
    ["sourcePath with ..", vol([{ name: "data", host: { sourcePath: "/srv/../etc" } }]), "volumes[0].host.sourcePath", '".."'],
    ["sourcePath with a colon", vol([{ name: "data", host: { sourcePath: "/srv/a:rw" } }]), "volumes[0].host.sourcePath", '":"'],
    ["host and docker volume together", vol([{ name: "data", host: {}, dockerVolumeConfiguration: {} }]), "volumes[0].dockerVolumeConfiguration", "either host or dockerVolumeConfiguration, not both"],
    ["autoprovision on a task-scoped volume", vol([{ name: "data", dockerVolumeConfiguration: { autoprovision: true } }]), "volumes[0].dockerVolumeConfiguration.autoprovision", 'only be true when scope is "shared"'],
    ["unknown scope", vol([{ name: "data", dockerVolumeConfiguration: { scope: "global" } }]), "volumes[0].dockerVolumeConfiguration.scope", '"task" or "shared"'],
    ["driverOpts value not a string", vol([{ name: "data", dockerVolumeConfiguration: { driverOpts: { size: 1 } } }]), "volumes[0].dockerVolumeConfiguration.driverOpts.size", "must be a string"],
    ["EFS volume", vol([{ name: "data", efsVolumeConfiguration: { fileSystemId: "fs-1" } }]), "volumes[0].efsVolumeConfiguration", "Amazon EFS"],
    ["FSx volume", vol([{ name: "data", fsxWindowsFileServerVolumeConfiguration: { fileSystemId: "fs-1", rootDirectory: "share" } }]), "volumes[0].fsxWindowsFileServerVolumeConfiguration", "Windows containers are not supported"],
    ["EBS volume configured at launch", vol([{ name: "data", configuredAtLaunch: true }]), "volumes[0].configuredAtLaunch", "EBS"],
    [
      "mount of an unknown volume",
      vol([{ name: "data" }], { mountPoints: [{ sourceVolume: "dta", containerPath: "/data" }] }),
      `${C0}.mountPoints[0].sourceVolume`,
      'sourceVolume "dta" does not name a volume in this task definition\'s volumes.',
    ],
    ["mount without volumes", withContainer({ mountPoints: [{ sourceVolume: "data", containerPath: "/data" }] }), `${C0}.mountPoints[0].sourceVolume`, "does not name a volume"],
    ["relative containerPath", vol([{ name: "data" }], { mountPoints: [{ sourceVolume: "data", containerPath: "data" }] }), `${C0}.mountPoints[0].containerPath`, "containerPath must be an absolute path"],
    [
      "two mounts on one containerPath",
      vol([{ name: "a" }, { name: "b" }], { mountPoints: [{ sourceVolume: "a", containerPath: "/data" }, { sourceVolume: "b", containerPath: "/data/" }] }),
      `${C0}.mountPoints[1].containerPath`,
      'containerPath "/data/" is already mounted by mountPoints[0].',
    ],
    [
      "a mount and a tmpfs on one containerPath",
      vol([{ name: "a" }], { mountPoints: [{ sourceVolume: "a", containerPath: "/tmp" }], linuxParameters: { tmpfs: [{ containerPath: "/tmp", size: 8 }] } }),
      `${C0}.linuxParameters.tmpfs[0].containerPath`,
      "already mounted by mountPoints[0]",
    ],
    ["volumesFrom an unknown container", withContainer({ volumesFrom: [{ sourceContainer: "db" }] }), `${C0}.volumesFrom[0].sourceContainer`, 'sourceContainer "db" does not name a container in this task definition.'],
    ["volumesFrom itself", withContainer({ volumesFrom: [{ sourceContainer: "web" }] }), `${C0}.volumesFrom[0].sourceContainer`, "is this container itself"],
  ]);
});

describe("container relationships", () => {
  runCases([
    [
      "duplicate container names",
      task({}, [container(), container({ image: "redis" })]),
      `${C1}.name`,
      'name "web" is already used by another container in this task definition.',
    ],
    ["no essential container", task({}, [container({ essential: false })]), "containerDefinitions", "containerDefinitions must include at least one essential container."],
    [
      "container without memory when the task has none",
      withContainer({ memory: undefined }),
      `${C0}.memory`,
      "memory or memoryReservation is required for each container when the task has no memory.",
    ],
    [
      "containers' memory above the task's",
      task({ memory: 512 }, [container({ memory: 300 }), container({ name: "b", memory: undefined, memoryReservation: 300 })]),
      "memory",
      "memory (512 MiB) is less than the 600 MiB its containers ask for together.",
    ],
    [
      "containers' cpu above the task's",
      task({ cpu: "0.25 vcpu" }, [container({ cpu: 200 }), container({ name: "b", cpu: 100 })]),
      "cpu",
      "cpu (256 units) is less than the 300 units its containers ask for together.",
    ],
    ["dependsOn an unknown container", withContainer({ dependsOn: [{ containerName: "db", condition: "START" }] }), `${C0}.dependsOn[0].containerName`, 'containerName "db" does not name a container in this task definition.'],
    ["dependsOn itself", withContainer({ dependsOn: [{ containerName: "web", condition: "START" }] }), `${C0}.dependsOn[0].containerName`, "a container cannot depend on itself"],
    ["dependsOn without condition", task({}, [container({ dependsOn: [{ containerName: "b" }] }), container({ name: "b" })]), `${C0}.dependsOn[0].condition`, "condition is required."],
    [
      "dependsOn with an unknown condition",
      task({}, [container({ dependsOn: [{ containerName: "b", condition: "RUNNING" }] }), container({ name: "b" })]),
      `${C0}.dependsOn[0].condition`,
      'condition must be one of "START", "COMPLETE", "SUCCESS" or "HEALTHY", not "RUNNING".',
    ],
    [
      "dependsOn the same container twice",
      task({}, [container({ dependsOn: [{ containerName: "b", condition: "START" }, { containerName: "b", condition: "HEALTHY" }] }), container({ name: "b", healthCheck: { command: ["CMD", "true"] } })]),
      `${C0}.dependsOn[1].containerName`,
      "appears more than once",
    ],
    [
      "HEALTHY on a container without healthCheck",
      task({}, [container({ dependsOn: [{ containerName: "db", condition: "HEALTHY" }] }), container({ name: "db" })]),
      `${C0}.dependsOn[0].condition`,
      'condition "HEALTHY" needs container "db" to have a healthCheck.',
    ],
    [
      "HEALTHY on a container whose healthCheck is NONE",
      task({}, [container({ dependsOn: [{ containerName: "db", condition: "HEALTHY" }] }), container({ name: "db", healthCheck: { command: ["NONE"] } })]),
      `${C0}.dependsOn[0].condition`,
      "needs container \"db\" to have a healthCheck",
    ],
    [
      "COMPLETE on an essential container",
      task({}, [container({ dependsOn: [{ containerName: "init", condition: "COMPLETE" }] }), container({ name: "init" })]),
      `${C0}.dependsOn[0].condition`,
      'condition "COMPLETE" cannot wait for container "init" because it is essential',
    ],
    [
      "SUCCESS on an essential container",
      task({}, [container({ dependsOn: [{ containerName: "init", condition: "SUCCESS" }] }), container({ name: "init", essential: true })]),
      `${C0}.dependsOn[0].condition`,
      "because it is essential",
    ],
    [
      "a two-container dependsOn cycle",
      task({}, [
        container({ name: "a", dependsOn: [{ containerName: "b", condition: "START" }] }),
        container({ name: "b", dependsOn: [{ containerName: "a", condition: "START" }] }),
      ]),
      `${C0}.dependsOn[0].containerName`,
      "Container dependencies form a cycle (a → b → a), so these containers could never start.",
    ],
    [
      "a three-container cycle found from the middle",
      task({}, [
        container({ name: "free" }),
        container({ name: "a", dependsOn: [{ containerName: "free", condition: "START" }, { containerName: "c", condition: "START" }] }),
        container({ name: "b", dependsOn: [{ containerName: "a", condition: "START" }] }),
        container({ name: "c", dependsOn: [{ containerName: "b", condition: "START" }] }),
      ]),
      "containerDefinitions[1].dependsOn[1].containerName",
      "(a → c → b → a)",
    ],
    [
      "a cycle through volumesFrom",
      task({}, [
        container({ name: "a", volumesFrom: [{ sourceContainer: "b" }] }),
        container({ name: "b", dependsOn: [{ containerName: "a", condition: "START" }] }),
      ]),
      `${C0}.volumesFrom[0].sourceContainer`,
      "(a → b → a)",
    ],
  ]);

  test("COMPLETE and SUCCESS on non-essential containers, HEALTHY on checked ones are accepted", () => {
    const td = accepted(
      task({}, [
        container({ name: "init", essential: false, memory: 32 }),
        container({ name: "seed", essential: false, memory: 32 }),
        container({ name: "db", healthCheck: { command: ["CMD-SHELL", "pg_isready"] } }),
        container({
          name: "app",
          dependsOn: [
            { containerName: "init", condition: "COMPLETE" },
            { containerName: "seed", condition: "SUCCESS" },
            { containerName: "db", condition: "HEALTHY" },
          ],
        }),
      ]),
    );
    expect(td.containerDefinitions.map((c) => c.name)).toEqual(["init", "seed", "db", "app"]);
  });

  test("task memory alone is enough; the sums may equal the task's values", () => {
    const td = accepted(task({ memory: "256", cpu: 256 }, [container({ memory: undefined, cpu: 128 }), container({ name: "b", memory: 256, cpu: 128 })]));
    expect(td.memory).toBe(256);
  });
});

describe("Fargate sizes are checked only when FARGATE is named", () => {
  const fargate = (cpu: unknown, memory: unknown, extra: Json = {}) =>
    task({ requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc", ...(cpu === undefined ? {} : { cpu }), ...(memory === undefined ? {} : { memory }), ...extra }, [
      container({ memory: 64 }),
    ]);

  runCases([
    ["memory not offered for cpu 256", fargate("256", "4096"), "memory", "memory 4096 MiB does not fit cpu 256 on FARGATE; with cpu 256 memory must be 512, 1024 or 2048 MiB."],
    ["memory between steps for cpu 512", fargate(512, 1536), "memory", "with cpu 512 memory must be 1024, 2048, 3072 or 4096 MiB."],
    ["memory above the range for cpu 1024", fargate("1 vCPU", "9 GB"), "memory", "with cpu 1024 memory must be 2048 to 8192 in steps of 1024 MiB."],
    ["memory below the range for cpu 2048", fargate(2048, 3072), "memory", "4096 to 16384 in steps of 1024"],
    ["memory above the range for cpu 4096", fargate(4096, 31744), "memory", "8192 to 30720 in steps of 1024"],
    ["memory off the 4 GiB step for cpu 8192", fargate(8192, 17408), "memory", "16384 to 61440 in steps of 4096"],
    ["memory off the 8 GiB step for cpu 16384", fargate(16384, 36864), "memory", "32768 to 122880 in steps of 8192"],
    ["cpu that is no Fargate size", fargate(300, 1024), "cpu", "cpu 300 is not a Fargate size; FARGATE takes 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units (0.25 to 16 vCPU)."],
    ["cpu 128", fargate(128, 512), "cpu", "not a Fargate size"],
  ]);

  test("cpu and memory are both required with FARGATE", () => {
    expectIssues(fargate(undefined, undefined), [
      ["cpu", "cpu is required when requiresCompatibilities includes FARGATE."],
      ["memory", "memory is required when requiresCompatibilities includes FARGATE."],
    ]);
    expectOnlyIssue(fargate(256, undefined), "memory", "memory is required when requiresCompatibilities includes FARGATE.");
    expectOnlyIssue(fargate(undefined, 512), "cpu", "cpu is required when requiresCompatibilities includes FARGATE.");
  });

  test("every documented combination is accepted, in any notation", () => {
    const combos: Array<[unknown, unknown]> = [
      [256, 512], ["256", "1024"], [".25 vCPU", "2 GB"],
      [512, 1024], ["0.5 vCPU", "4GB"],
      [1024, 2048], ["1 vCPU", 8192],
      [2048, 4096], ["2 vCPU", "16 GB"],
      [4096, 8192], [4096, 30720],
      [8192, 16384], ["8 vCPU", 20480], [8192, "60 GB"],
      [16384, 32768], ["16 vCPU", "40 GB"], [16384, "120 GB"],
    ];
    for (const [cpu, memory] of combos) {
      const td = accepted(fargate(cpu, memory));
      expect(typeof td.cpu).toBe("number");
      expect(typeof td.memory).toBe("number");
    }
  });

  test("without FARGATE any cpu/memory within ECS's ranges is accepted", () => {
    const td = accepted(task({ requiresCompatibilities: ["EXTERNAL"], cpu: 300, memory: 1000 }, [container({ memory: undefined })]));
    expect([td.cpu, td.memory]).toEqual([300, 1000]);
  });
});
