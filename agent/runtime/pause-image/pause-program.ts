/**
 * The pause program the agent carries: a static Linux executable per architecture, a few hundred
 * bytes, that holds a task's namespaces (awsvpc network, pidMode/ipcMode "task"). It blocks
 * SIGINT, SIGTERM and SIGCHLD and waits for them with rt_sigtimedwait: SIGCHLD reaps every exited
 * child (it is PID 1 of a pidMode "task" namespace, where orphans land), SIGINT or SIGTERM exits 0.
 * It is what amazon-ecs-agent's and Kubernetes' pause.c do, without needing a C toolchain or libc.
 *
 * Where the bytes come from: the machine code below is the `.text` of pause-x86_64.s and
 * pause-aarch64.s (next to this file; the commands are at their top), assembled with llvm-mc.
 * test/agent/runtime/pause-program.test.ts assembles them again and compares, runs the x86_64
 * program natively and the arm64 one under qemu-aarch64-static, and sends each SIGTERM. The ELF
 * wrapping (one header, a read+execute PT_LOAD of the whole file, a non-executable stack) is
 * written by `pauseProgram` below, so only the instructions are carried as bytes.
 */

/** Docker's names for the architectures the agent carries a pause program for (RuntimeInfo.architecture). */
export type PauseArch = "x86_64" | "aarch64";

interface ProgramSource {
  /** ELF e_machine. */
  machine: number;
  /** OCI/Docker image architecture. */
  imageArch: "amd64" | "arm64";
  /** The assembled instructions (hex). */
  code: string;
}

const PROGRAMS: Record<PauseArch, ProgramSource> = {
  x86_64: {
    machine: 62, // EM_X86_64
    imageArch: "amd64",
    code:
      "680240010031ff4889e631d241ba08000000b80e0000000f054889e731f631d241ba08000000b8800000000f05" +
      "83f811740685c07f20ebe148c7c7ffffffff31f6ba010000004531d2b83d0000000f0585c07fe4ebc331ffb8e7" +
      "0000000f05",
  },
  aarch64: {
    machine: 183, // EM_AARCH64
    imageArch: "arm64",
    code:
      "400088d22000a0f2e00f1ff8000080d2e1030091020080d2030180d2e81080d2010000d4e0030091010080d2" +
      "020080d2030180d2281180d2010000d41f4400f1800000541f0000f16c010054f6ffff1700008092010080d2" +
      "220080d2030080d2882080d2010000d41f0000f12cffff54edffff17000080d2c80b80d2010000d4",
  },
};

/** Docker reports arm64 hosts as aarch64 (most) or arm64 (some); x86_64 as x86_64 or amd64. */
export function pauseArchOf(dockerArchitecture: string): PauseArch | null {
  const a = dockerArchitecture.toLowerCase();
  if (a === "x86_64" || a === "amd64") return "x86_64";
  if (a === "aarch64" || a === "arm64") return "aarch64";
  return null;
}

export function pauseImageArch(arch: PauseArch): "amd64" | "arm64" {
  return PROGRAMS[arch].imageArch;
}

/** The carried instructions alone (what the .s files assemble to). */
export function pauseMachineCode(arch: PauseArch): Uint8Array {
  return Uint8Array.from(Buffer.from(PROGRAMS[arch].code, "hex"));
}

const LOAD_ADDRESS = 0x400000n;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const PHDRS = 2;

/** The complete static executable: ELF header, two program headers, the instructions. */
export function pauseProgram(arch: PauseArch): Uint8Array {
  const code = pauseMachineCode(arch);
  const codeOffset = EHDR_SIZE + PHDR_SIZE * PHDRS;
  const size = codeOffset + code.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* 64-bit */, 1 /* little-endian */, 1 /* ELF version */, 0 /* System V ABI */]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, PROGRAMS[arch].machine, true);
  v.setUint32(20, 1, true); // e_version
  v.setBigUint64(24, LOAD_ADDRESS + BigInt(codeOffset), true); // e_entry: the first instruction
  v.setBigUint64(32, BigInt(EHDR_SIZE), true); // e_phoff
  v.setUint16(52, EHDR_SIZE, true); // e_ehsize
  v.setUint16(54, PHDR_SIZE, true); // e_phentsize
  v.setUint16(56, PHDRS, true); // e_phnum (no section headers)
  // PT_LOAD: the whole file, readable and executable, at LOAD_ADDRESS (aligned for 64 KiB pages too).
  let p = EHDR_SIZE;
  v.setUint32(p, 1, true);
  v.setUint32(p + 4, 5, true); // PF_R | PF_X
  v.setBigUint64(p + 16, LOAD_ADDRESS, true); // p_vaddr (p_offset 0)
  v.setBigUint64(p + 24, LOAD_ADDRESS, true); // p_paddr
  v.setBigUint64(p + 32, BigInt(size), true); // p_filesz
  v.setBigUint64(p + 40, BigInt(size), true); // p_memsz
  v.setBigUint64(p + 48, 0x10000n, true); // p_align
  // PT_GNU_STACK: the stack is read+write, not executable.
  p += PHDR_SIZE;
  v.setUint32(p, 0x6474e551, true);
  v.setUint32(p + 4, 6, true); // PF_R | PF_W
  v.setBigUint64(p + 48, 16n, true);
  out.set(code, codeOffset);
  return out;
}
