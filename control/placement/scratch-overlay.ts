import { applyReservation, cloneInstanceView } from "./instance-view.ts";
import type { InstanceView, Reservation } from "./types.ts";

/**
 * In-request bookkeeping: copies of the (at most `count`) instances that received a task earlier
 * in the same request, with those tasks applied. Checkers and rankers read instances through
 * `view`, so task k sees tasks 1..k-1 while the index itself stays untouched.
 */
export class ScratchOverlay {
  private readonly shadows = new Map<string, InstanceView>();

  get size(): number {
    return this.shadows.size;
  }

  view(instance: InstanceView): InstanceView {
    if (this.shadows.size === 0) return instance;
    return this.shadows.get(instance.id) ?? instance;
  }

  has(id: string): boolean {
    return this.shadows.size !== 0 && this.shadows.has(id);
  }

  touched(): IterableIterator<InstanceView> {
    return this.shadows.values();
  }

  place(instance: InstanceView, reservation: Reservation, group: string): InstanceView {
    let shadow = this.shadows.get(instance.id);
    if (!shadow) {
      shadow = shadowOf(instance, reservation);
      this.shadows.set(instance.id, shadow);
    }
    applyReservation(shadow, reservation, group);
    return shadow;
  }
}

/**
 * A copy to book the request's tasks on. All tasks of one request have the same reservation, so
 * the port and GPU sets are copied only when it takes ports or GPUs; otherwise the shadow shares
 * the instance's, which nothing writes while the request is placed.
 */
function shadowOf(v: InstanceView, r: Reservation): InstanceView {
  return cloneInstanceView(v, {
    copyPorts: r.tcpPorts.length > 0 || r.udpPorts.length > 0,
    copyGpus: (r.gpus ?? 0) > 0 || (r.gpuIds?.length ?? 0) > 0,
  });
}
