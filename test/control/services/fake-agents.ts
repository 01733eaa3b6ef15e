import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { containerInstances } from "../../../control/db/schema.ts";
import { nextDesiredState } from "../../../control/ops/desired.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { OpsContext } from "../../../control/ops/context.ts";
import type { DesiredTask, HealthStatus, HostFacts, Report, ReportedContainer, ReportedTask } from "../../../shared/messages.ts";

/** What a fake agent does with the tasks it is told to run. */
export interface AgentBehaviour {
  /** Tasks of this definition exit (essential container exit) instead of running on. */
  fail?: (taskDefinitionArn: string) => boolean;
  /** The health each checked container of a RUNNING task reports now (default HEALTHY). */
  health?: (task: DesiredTask) => HealthStatus;
  /** Host ports a started container is bound to. */
  bindings?: (task: DesiredTask, container: string) => ReportedContainer["networkBindings"];
}

type ContainerDef = { name: string; image: string; essential?: boolean; healthCheck?: unknown };

/**
 * One stand-in agent: it reads its instance's desired set as the real agent receives it and
 * reports its full known state through applyReports — the path the MQTT link takes — with its
 * own bootId and a rising seq. Nothing is written to the task rows directly, so a report field
 * the control drops shows up as a failing assertion.
 */
export class FakeAgent {
  readonly bootId = randomUUID();
  private seq = 0;
  private known = new Map<string, ReportedTask>();
  /** Tasks to report exited on the next sync (an essential container died). */
  private exiting = new Set<string>();
  /** Host facts that changed: sent with the next report, as the agent does. */
  private facts?: HostFacts;

  constructor(
    private ctx: OpsContext,
    readonly instanceId: string,
    private now: () => number,
  ) {}

  /** The essential container of this task exits (reported on the next sync). */
  exit(taskId: string): void {
    this.exiting.add(taskId);
  }

  /** The host's facts changed (they go out with the next report). */
  factsChanged(facts: HostFacts): void {
    this.facts = facts;
  }

  /** Catches up with the desired set and reports; returns the report sent. */
  async sync(behaviour: AgentBehaviour = {}): Promise<Report | null> {
    const desired = await nextDesiredState(this.ctx, this.instanceId, false);
    if (!desired) return null;
    const now = this.now();
    const inSet = new Set(desired.tasks.map((t) => t.taskId));
    // Tasks gone from the desired set were confirmed stopped: the agent forgets them.
    for (const id of this.known.keys()) if (!inSet.has(id)) this.known.delete(id);
    for (const d of desired.tasks) this.known.set(d.taskId, this.step(d, this.known.get(d.taskId), behaviour, now));
    const report: Report = {
      instanceId: this.instanceId,
      bootId: this.bootId,
      seq: ++this.seq,
      generation: desired.generation,
      sentAt: now,
      ...(this.facts ? { facts: this.facts } : {}),
      tasks: [...this.known.values()],
    };
    this.facts = undefined;
    await applyReports(this.ctx, [{ instanceId: this.instanceId, report }]);
    return report;
  }

  /** The next known state of one task, as the agent would have it after acting on the desired one. */
  private step(d: DesiredTask, k: ReportedTask | undefined, b: AgentBehaviour, now: number): ReportedTask {
    if (k?.knownStatus === "STOPPED") return k;
    const defs = ((d.definition as { containerDefinitions?: ContainerDef[] } | undefined)?.containerDefinitions ?? []) as ContainerDef[];
    const exited = this.exiting.delete(d.taskId) || (d.desiredStatus === "RUNNING" && !!b.fail?.(d.taskDefinitionArn));
    if (d.desiredStatus === "STOPPED" || exited) {
      const startedAt = k?.startedAt ?? now;
      return {
        taskId: d.taskId,
        knownStatus: "STOPPED",
        startedAt,
        stoppingAt: now,
        stoppedAt: now,
        stoppedReason: exited ? "Essential container in task exited" : d.stoppedReason,
        stopCode: exited ? "EssentialContainerExited" : d.stopCode,
        containers: defs.map((c) => ({
          ...this.container(d, c, b, "STOPPED", startedAt),
          exitCode: exited ? 1 : 0,
          finishedAt: now,
        })),
      };
    }
    const startedAt = k?.startedAt ?? now;
    const containers = defs.map((c) => this.container(d, c, b, "RUNNING", startedAt));
    return { taskId: d.taskId, knownStatus: "RUNNING", startedAt, containers };
  }

  private container(d: DesiredTask, c: ContainerDef, b: AgentBehaviour, status: "RUNNING" | "STOPPED", startedAt: number): ReportedContainer {
    const checked = c.healthCheck !== undefined;
    return {
      name: c.name,
      image: c.image,
      status,
      runtimeId: `${d.taskId}-${c.name}`,
      startedAt,
      essential: c.essential ?? true,
      // What the agent last read from Docker while the container ran.
      healthStatus: checked ? (b.health?.(d) ?? "HEALTHY") : undefined,
      networkBindings: b.bindings?.(d, c.name),
    };
  }
}

/** One FakeAgent per instance of the cluster, made as instances appear; disconnected ones stay silent. */
export class FakeAgents {
  private agents = new Map<string, FakeAgent>();

  constructor(
    private ctx: OpsContext,
    private cluster: string,
    private now: () => number,
  ) {}

  of(instanceId: string): FakeAgent {
    let a = this.agents.get(instanceId);
    if (!a) this.agents.set(instanceId, (a = new FakeAgent(this.ctx, instanceId, this.now)));
    return a;
  }

  /** Every connected instance's agent catches up and reports. */
  async sync(behaviour: AgentBehaviour = {}): Promise<void> {
    const instances = await this.ctx.db
      .select({ id: containerInstances.id, connected: containerInstances.agentConnected, status: containerInstances.status })
      .from(containerInstances)
      .where(eq(containerInstances.clusterName, this.cluster))
      .all();
    for (const i of instances) if (i.connected && i.status !== "INACTIVE") await this.of(i.id).sync(behaviour);
  }
}
