import { describe, expect, test } from "bun:test";
import { containerStartOrder, parseTaskDefinition } from "../../../shared/task-definition/index.ts";
import { accepted, container, expectOnlyIssue, rejected, task, withContainer } from "./helpers.ts";

/** Task definitions as people write them for ECS (issue 14): what real files use is accepted. */

const C0 = "containerDefinitions[0]";
const C1 = "containerDefinitions[1]";

describe("log drivers", () => {
  test("awslogs is accepted and its options are kept as written", () => {
    const options = { "awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web", "awslogs-create-group": "true" };
    const td = accepted(withContainer({ logConfiguration: { logDriver: "awslogs", options } }));
    expect(td.containerDefinitions[0]!.logConfiguration).toEqual({ logDriver: "awslogs", options });
  });

  test("Docker's host-side drivers pass through with their options unchecked, as ECS passes them", () => {
    for (const logDriver of ["syslog", "journald", "fluentd", "gelf", "splunk"]) {
      const td = accepted(withContainer({ logConfiguration: { logDriver, options: { tag: "{{.Name}}", "some-option": "x" } } }));
      expect(td.containerDefinitions[0]!.logConfiguration?.logDriver).toBe(logDriver as never);
    }
  });

  test("secretOptions take values from Flotilla secrets; an empty list means none, even for json-file", () => {
    const td = accepted(
      withContainer({
        logConfiguration: { logDriver: "splunk", options: { "splunk-url": "https://splunk:8088" }, secretOptions: [{ name: "splunk-token", valueFrom: "splunk/token" }] },
      }),
    );
    expect(td.containerDefinitions[0]!.logConfiguration?.secretOptions).toEqual([{ name: "splunk-token", valueFrom: "splunk/token" }]);
    expect(accepted(withContainer({ logConfiguration: { logDriver: "json-file", secretOptions: [] } })).containerDefinitions[0]!.logConfiguration?.secretOptions).toEqual([]);
  });

  test("the local drivers' options are still checked", () => {
    expectOnlyIssue(withContainer({ logConfiguration: { logDriver: "json-file", options: { "max-sise": "10m" } } }), `${C0}.logConfiguration.options.max-sise`, "is not an option of the json-file log driver");
  });
});

describe("links", () => {
  const db = container({ name: "mysql", image: "mysql" });
  test("bridge (the default) accepts links by name and name:alias, and the linked container starts first", () => {
    const td = accepted(task({}, [container({ name: "wordpress", links: ["mysql", "mysql:db"] }), db]));
    expect(td.containerDefinitions[0]!.links).toEqual(["mysql", "mysql:db"]);
    expect(containerStartOrder(td)).toEqual(["mysql", "wordpress"]);
  });

  test("refused outside bridge mode, as ECS; an empty list is fine anywhere", () => {
    expectOnlyIssue(task({ networkMode: "awsvpc" }, [container({ links: ["mysql"] }), db]), `${C0}.links`, 'links are only supported in networkMode "bridge", as in ECS, not "awsvpc"');
    expectOnlyIssue(task({ networkMode: "host" }, [container({ links: ["mysql"] }), db]), `${C0}.links`, 'not "host"');
    accepted(task({ networkMode: "awsvpc" }, [container({ links: [] }), db]));
  });

  test("links take part in the cycle check", () => {
    const issues = rejected(task({}, [container({ name: "a", links: ["b"] }), container({ name: "b", dependsOn: [{ containerName: "a", condition: "START" }] })]));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain("form a cycle");
  });
});

describe("FireLens", () => {
  const router = (over = {}) => container({ name: "log_router", image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", firelensConfiguration: { type: "fluentbit" }, ...over });
  const app = container({ name: "app", logConfiguration: { logDriver: "awsfirelens", options: { Name: "cloudwatch", log_stream_name: "$(ecs_task_id)" } } });

  test("a router and awsfirelens app containers are accepted", () => {
    const td = accepted(task({}, [router({ firelensConfiguration: { type: "fluentbit", options: { "enable-ecs-log-metadata": "true" } } }), app]));
    expect(td.containerDefinitions[0]!.firelensConfiguration).toEqual({ type: "fluentbit", options: { "enable-ecs-log-metadata": "true" } });
    expect(td.containerDefinitions[1]!.logConfiguration?.options?.log_stream_name).toBe("$(ecs_task_id)");
  });

  test("awsfirelens needs a router in the task", () => {
    expectOnlyIssue(task({}, [app]), `${C0}.logConfiguration.logDriver`, 'logDriver "awsfirelens" needs a log router');
  });

  test("at most one router per task", () => {
    expectOnlyIssue(task({}, [router(), router({ name: "second" })]), `${C1}.firelensConfiguration`, 'already set on container "log_router"');
  });
});

describe("describe-task-definition output", () => {
  const output = {
    taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/app:7",
    revision: 7,
    status: "ACTIVE",
    requiresAttributes: [{ name: "com.amazonaws.ecs.capability.logging-driver.awslogs" }],
    compatibilities: ["EC2", "EXTERNAL"],
    registeredAt: "2024-01-01T00:00:00Z",
    registeredBy: "arn:aws:iam::123456789012:user/me",
    deregisteredAt: "2024-02-01T00:00:00Z",
  };

  test("every output-only field is ignored and named in warnings", () => {
    const r = parseTaskDefinition(task(output));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.warnings!.map((w) => w.path).sort()).toEqual(Object.keys(output).sort());
    for (const k of Object.keys(output)) expect(k in r.value).toBe(false);
    expect(r.warnings![0]!.message).toMatch(/output of describe-task-definition.*ignored\.$/);
  });

  test("the whole response is a body; --include TAGS tags are kept", () => {
    const r = parseTaskDefinition({ taskDefinition: task({ revision: 2 }), tags: [{ key: "team", value: "web" }] });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value.tags).toEqual([{ key: "team", value: "web" }]);
    expect(r.warnings!.map((w) => w.path)).toEqual(["taskDefinition.revision"]);
  });

  test("a plain body has no warnings", () => {
    const r = parseTaskDefinition(task());
    expect(r.ok && r.warnings).toEqual([]);
  });
});

describe("null and empty lists", () => {
  test("null means not set anywhere; refused fields sent empty or off mean none", () => {
    const td = accepted(
      task({ proxyConfiguration: null, volumes: null, taskRoleArn: null, inferenceAccelerators: [] }, [
        container({
          environmentFiles: [],
          credentialSpecs: [],
          disableNetworking: false,
          links: null,
          healthCheck: null,
          linuxParameters: { capabilities: null, initProcessEnabled: true },
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "g" }, secretOptions: null },
        }),
      ]),
    );
    const c = td.containerDefinitions[0]!;
    expect("environmentFiles" in c || "credentialSpecs" in c || "disableNetworking" in c || "links" in c).toBe(false);
    expect(c.linuxParameters).toEqual({ initProcessEnabled: true });
  });

  test("a refused field with content is still refused with its reason", () => {
    expectOnlyIssue(withContainer({ environmentFiles: [{ value: "arn:aws:s3:::b/x.env", type: "s3" }] }), `${C0}.environmentFiles`, "S3");
  });
});

describe("GPUs and security options", () => {
  test("resourceRequirements GPU is accepted and stored", () => {
    const td = accepted(withContainer({ resourceRequirements: [{ type: "GPU", value: "2" }] }));
    expect(td.containerDefinitions[0]!.resourceRequirements).toEqual([{ type: "GPU", value: "2" }]);
  });

  test("no-new-privileges, apparmor, seccomp and label options parse (the cluster policy decides on the last three)", () => {
    const opts = ["no-new-privileges", "apparmor:docker-default", "seccomp:unconfined", "label:type:svirt_apache_t"];
    expect(accepted(withContainer({ dockerSecurityOptions: opts })).containerDefinitions[0]!.dockerSecurityOptions).toEqual(opts);
  });
});

describe("Windows", () => {
  test("a Windows task definition gets one message, however many Windows-only fields it has", () => {
    const body = task(
      { runtimePlatform: { operatingSystemFamily: "WINDOWS_SERVER_2019_CORE", cpuArchitecture: "X86_64" }, volumes: [{ name: "s", fsxWindowsFileServerVolumeConfiguration: { fileSystemId: "fs-1", rootDirectory: "share", authorizationConfig: { credentialsParameter: "x", domain: "d" } } }] },
      [container({ image: "mcr.microsoft.com/windows/servercore/iis", credentialSpecs: ["credentialspec:arn"], dockerSecurityOptions: ["credentialspec:file://x.json"], workingDirectory: "C:\\app" })],
    );
    const issue = expectOnlyIssue(body, "runtimePlatform.operatingSystemFamily", "Windows containers are not supported");
    expect(issue.message).toContain("WINDOWS_SERVER_2019_CORE");
  });

  test("a Windows base image alone is recognised", () => {
    expectOnlyIssue(withContainer({ image: "mcr.microsoft.com/dotnet/framework/aspnet:4.8" }), `${C0}.image`, "Windows containers are not supported");
    expectOnlyIssue(withContainer({ image: "mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022" }), `${C0}.image`, "Windows containers are not supported");
    accepted(withContainer({ image: "mcr.microsoft.com/dotnet/aspnet:8.0" }));
  });
});

describe("did you mean, for the new fields", () => {
  test("typos of newly accepted fields get suggestions", () => {
    expectOnlyIssue(withContainer({ linkss: ["x"] }), `${C0}.linkss`, "did you mean links?");
    expectOnlyIssue(withContainer({ dockerSecurityOption: [] }), `${C0}.dockerSecurityOption`, "did you mean dockerSecurityOptions?");
    expectOnlyIssue(withContainer({ logConfiguration: { logDriver: "splunk", secretOption: [] } }), `${C0}.logConfiguration.secretOption`, "did you mean secretOptions?");
  });
});
