// Flotilla's pause program for arm64 (Linux syscalls only, no libc): the process that holds a
// task's namespaces. It waits for signals, reaps children (as PID 1 of a pidMode "task" namespace)
// and exits 0 on SIGTERM or SIGINT. The signals are blocked and taken with rt_sigtimedwait rather
// than caught by handlers: the kernel never drops a blocked signal, even for a namespace's PID 1.
// Assembled by test/agent/runtime/pause-program.test.ts (llvm-mc) and compared with the bytes in
// pause-program.ts:
//   llvm-mc -triple=aarch64-linux-gnu -filetype=obj pause-aarch64.s -o p.o && llvm-objcopy -O binary -j .text p.o p.bin
    .text
    .globl _start
_start:
    movz x0, #0x4002        // the signal set: SIGINT(2), SIGTERM(15), SIGCHLD(17) = 0x14002
    movk x0, #0x1, lsl #16
    str x0, [sp, #-16]!     // on the stack (sp stays 16-byte aligned)
    mov x0, #0              // SIG_BLOCK
    mov x1, sp              // &set
    mov x2, #0              // no old set
    mov x3, #8              // sizeof(sigset_t)
    mov x8, #135            // rt_sigprocmask
    svc #0
wait:
    mov x0, sp              // &set
    mov x1, #0              // no siginfo
    mov x2, #0              // no timeout: wait for ever
    mov x3, #8
    mov x8, #137            // rt_sigtimedwait
    svc #0
    cmp x0, #17
    b.eq reap               // SIGCHLD
    cmp x0, #0
    b.gt done               // SIGINT or SIGTERM
    b wait                  // -EINTR (e.g. after SIGSTOP/SIGCONT): wait again
reap:
    mov x0, #-1             // any child
    mov x1, #0              // no status
    mov x2, #1              // WNOHANG
    mov x3, #0              // no rusage
    mov x8, #260            // wait4
    svc #0
    cmp x0, #0
    b.gt reap               // reaped one: there may be more
    b wait
done:
    mov x0, #0
    mov x8, #94             // exit_group(0)
    svc #0
