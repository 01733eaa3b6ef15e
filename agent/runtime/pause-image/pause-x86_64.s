# Flotilla's pause program for x86_64 (Linux syscalls only, no libc): the process that holds a
# task's namespaces. It waits for signals, reaps children (as PID 1 of a pidMode "task" namespace)
# and exits 0 on SIGTERM or SIGINT. The signals are blocked and taken with rt_sigtimedwait rather
# than caught by handlers: the kernel never drops a blocked signal, even for a namespace's PID 1.
# Assembled by test/agent/runtime/pause-program.test.ts (llvm-mc) and compared with the bytes in
# pause-program.ts:
#   llvm-mc -triple=x86_64-linux-gnu -filetype=obj pause-x86_64.s -o p.o && llvm-objcopy -O binary -j .text p.o p.bin
    .intel_syntax noprefix
    .text
    .globl _start
_start:
    push 0x14002            # the signal set on the stack: SIGINT(2), SIGTERM(15), SIGCHLD(17)
    xor edi, edi            # SIG_BLOCK
    mov rsi, rsp            # &set
    xor edx, edx            # no old set
    mov r10d, 8             # sizeof(sigset_t)
    mov eax, 14             # rt_sigprocmask
    syscall
wait:
    mov rdi, rsp            # &set
    xor esi, esi            # no siginfo
    xor edx, edx            # no timeout: wait for ever
    mov r10d, 8
    mov eax, 128            # rt_sigtimedwait
    syscall
    cmp eax, 17
    je reap                 # SIGCHLD
    test eax, eax
    jg done                 # SIGINT or SIGTERM
    jmp wait                # -EINTR (e.g. after SIGSTOP/SIGCONT): wait again
reap:
    mov rdi, -1             # any child
    xor esi, esi            # no status
    mov edx, 1              # WNOHANG
    xor r10d, r10d          # no rusage
    mov eax, 61             # wait4
    syscall
    test eax, eax
    jg reap                 # reaped one: there may be more
    jmp wait
done:
    xor edi, edi
    mov eax, 231            # exit_group(0)
    syscall
