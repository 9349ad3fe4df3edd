#!/usr/bin/env node
// Writes the host/handler contract (asm/contract/abi.json) out in every language that uses it: the
// AssemblyScript SDK, the TypeScript host, the shim's C, a C header for handlers written in C, and the
// tables of asm/CONTRACT.md. Plain Node, no dependencies: scripts/setup.mjs runs it before anything builds.
//
//   node scripts/contract.mjs                write every generated file
//   node scripts/contract.mjs --check        write nothing; name each file that differs, exit 1 if any
//   node scripts/contract.mjs --root <dir>   work on another copy of the tree (the tests use this)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SPEC = 'asm/contract/abi.json';
export const GENERATED = {
  assemblyscript: 'asm/lib/abi.generated.ts',
  typescript: 'host/dataplane/abi.generated.ts',
  handlerC: 'asm/include/afxdp_abi.h',
};
export const CONTRACT_MD = 'asm/CONTRACT.md';
const STAMP = `generated from ${SPEC} by scripts/contract.mjs: do not edit`;

const snake = (camel) => camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const hex = (n) => `0x${n.toString(16)}`;
const sizeText = (n) => (n % (1 << 20) === 0 ? `${n >> 20} MiB` : n % 1024 === 0 ? `${n >> 10} KiB` : `${n} B`);

class SpecError extends Error {}

function check(ok, what) {
  if (!ok) throw new SpecError(`${SPEC}: ${what}`);
}

/** The spec with its offsets as numbers, checked for overlaps and for what the code relies on. */
function readSpec(text) {
  const spec = JSON.parse(text);
  for (const area of ['control', 'counters', 'config', 'batch', 'umem', 'handover', 'handler']) {
    spec[area].offset = Number(spec[area].offset);
    check(Number.isInteger(spec[area].offset), `${area}.offset is not a number`);
  }
  spec.config.size = Number(spec.config.size);
  spec.handover.size = Number(spec.handover.size);
  const { control, counters, config, batch, umem, handover, handler } = spec;
  check(
    control.words.length * 4 <= control.size && control.offset + control.size <= counters.offset,
    'the control words overflow their area',
  );
  check(counters.offset % 8 === 0 && counters.list.length * 8 <= counters.size, 'the counters overflow their area');
  check(counters.offset + counters.size <= config.offset, 'the counters overlap the config block');
  check(config.offset + config.size <= batch.offset, 'the config block overlaps the batch');
  check(batch.offset + batch.maxDescriptors * batch.descriptorSize <= umem.offset, 'the batch overlaps the UMEM');
  check(
    batch.fields.every((f) => f.offset % 4 === 0 && f.offset + 4 <= batch.descriptorSize),
    'a descriptor field is not a u32 inside the descriptor',
  );
  check(
    config.fields.every((f) => f.offset + fieldBytes(f) <= config.size),
    'a config field lies outside the block',
  );
  check(
    umem.offset % spec.pageSize === 0 && handler.offset % spec.pageSize === 0,
    'the UMEM or the handler region does not start on a page',
  );
  // The UMEM ends where the hand-over area starts: the host sizes it so.
  check(
    umem.offset < handover.offset && handover.offset + handover.size <= handler.offset,
    'the hand-over area is not between the UMEM and the handler region',
  );
  check(
    handover.offset % spec.pageSize === 0 && handover.size % spec.pageSize === 0,
    'the hand-over area is not whole pages',
  );
  check(
    umem.frameSizes.every((s) => (s & (s - 1)) === 0),
    'a frame size is not a power of two',
  );
  check(Math.min(...umem.frameSizes) > umem.xdpHeadroom + spec.tx.minLen, 'the smallest frame leaves no room');
  return spec;
}

const fieldBytes = (f) => (f.type === 'u32' ? 4 : 1) * (f.count ?? 1);

/**
 * Every number of the contract as a named constant, in the order the generated files list them.
 * `as` is its AssemblyScript type (usize for addresses and offsets, as the SDK has always used).
 */
function constants(spec) {
  const { control, counters, config, batch, umem, handler } = spec;
  const minFrame = Math.min(...umem.frameSizes);
  const handlerSize = handler.pages * spec.pageSize;
  const u32 = (name, value, doc) => ({ name, value, doc, as: 'u32' });
  const offset = (name, value, doc) => ({ name, value, doc, as: 'usize' });
  const address = (name, value, doc) => ({ name, value, doc, as: 'usize', hex: true });
  return [
    u32('ABI_VERSION', spec.abi, "The value of the handler's exported ABI_VERSION global."),
    u32('PAGE', spec.pageSize, 'A wasm page.'),
    address('CONTROL_OFFSET', control.offset, `The host's ${control.what}.`),
    u32('CONTROL_WORDS', control.size / 4, 'Room for this many control words.'),
    ...control.words.map((w, i) => u32(`CONTROL_${snake(w.name)}`, i, `Control word: ${w.doc}.`)),
    address('COUNTERS_OFFSET', counters.offset, "The port's counters (u64), by index."),
    address('HANDLER_CONFIG_OFFSET', config.offset, `The ${config.what}.`),
    address('HANDLER_CONFIG_SIZE', config.size, 'Bytes of the config block.'),
    ...config.fields.map((f) => offset(`CONFIG_${snake(f.name)}`, f.offset, `Config field: ${f.doc}.`)),
    ...config.flags.map((f) => u32(snake(f.name), f.value, `Config flags bit: ${f.doc}.`)),
    address('BATCH_OFFSET', batch.offset, `Where the shim lays ${batch.what}.`),
    u32('MAX_BATCH', batch.maxDescriptors, 'The most descriptors in one batch.'),
    offset('DESC_SIZE', batch.descriptorSize, 'Bytes of one descriptor.'),
    ...batch.fields.map((f) =>
      offset(`DESC_${snake(f.name)}`, f.offset, `Descriptor field (u32). In: ${f.in}. Out: ${f.out}.`),
    ),
    ...spec.verdicts.map((v) => ({ ...u32(`VERDICT_${snake(v.name)}`, v.value, `Verdict: ${v.doc}.`), verdict: true })),
    address('UMEM_OFFSET', umem.offset, `Start of ${umem.what} (frames x frame size).`),
    u32('MIN_FRAME_SIZE', minFrame, 'The smaller of the two frame sizes.'),
    u32('MAX_FRAME_SIZE', Math.max(...umem.frameSizes), 'The larger of the two frame sizes.'),
    u32('XDP_HEADROOM', umem.xdpHeadroom, 'Bytes before a received packet in its frame.'),
    u32(
      'MIN_FRAME_ROOM',
      minFrame - umem.xdpHeadroom,
      'Bytes a packet may always use from its start: the smaller frame less the headroom.',
    ),
    u32('TX_MIN_LEN', spec.tx.minLen, `TX rule: ${spec.tx.rule}.`),
    address('STATE_HANDOVER_OFFSET', spec.handover.offset, `Where the host puts ${spec.handover.what}.`),
    u32('STATE_MAX_LEN', spec.handover.size, "The most bytes of a handler's state blob (state_len())."),
    address('HANDLER_BASE', handler.offset, `Start of ${handler.what}.`),
    u32('HANDLER_PAGES', handler.pages, "Pages of the handler's own region."),
    address('HANDLER_REGION_SIZE', handlerSize, "Bytes of the handler's own region."),
    u32(
      'MEMORY_PAGES',
      (handler.offset + handlerSize) / spec.pageSize,
      'Pages of the shared memory: initial and maximum.',
    ),
  ];
}

const literal = (c) => (c.hex ? hex(c.value) : String(c.value));
const objectOf = (entries) => `{\n${entries.map(([k, v]) => `  ${k}: ${v},\n`).join('')}}`;

/** text as comment lines that start with lead, cut at spaces to stay within WIDTH. */
const WIDTH = 100;
function wrap(lead, text) {
  const lines = [];
  let line = lead;
  for (const word of text.split(' ')) {
    if (line !== lead && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = lead;
    }
    line += (line === lead ? '' : ' ') + word;
  }
  return [...lines, line];
}
const jsDoc = (text) => (text.length + 7 <= WIDTH ? [`/** ${text} */`] : ['/**', ...wrap(' * ', text), ' */']);

function assemblyScript(spec) {
  const lines = [`// ${STAMP}`, '// The SDK re-exports it from ./abi and ./config; handlers import those.', ''];
  for (const c of constants(spec)) lines.push(...jsDoc(c.doc), `export const ${c.name}: ${c.as} = ${literal(c)};`);
  return `${lines.join('\n')}\n`;
}

function typeScript(spec) {
  const lines = [`// ${STAMP}`, '// host/dataplane/layout.ts re-exports it with what only the host needs.', ''];
  for (const c of constants(spec)) lines.push(...jsDoc(c.doc), `export const ${c.name} = ${literal(c)};`);
  const { counters, config, batch } = spec;
  lines.push(
    '',
    '/** Counter indices: u64 at COUNTERS_OFFSET + 8 x index. */',
    `export const COUNTER = ${objectOf(counters.list.map((c, i) => [c.name, i]))} as const;`,
    `export const COUNTER_COUNT = ${counters.list.length};`,
    '/** Descriptor fields (u32): their byte offsets in a descriptor. */',
    `export const DESC = ${objectOf(batch.fields.map((f) => [f.name, f.offset]))} as const;`,
    `export const VERDICT = ${objectOf(spec.verdicts.map((v) => [v.name, v.value]))} as const;`,
    '/** Config block fields: their byte offsets in the block. */',
    `export const CONFIG = ${objectOf(config.fields.map((f) => [f.name, f.offset]))} as const;`,
    `export const CONFIG_FLAG = ${objectOf(config.flags.map((f) => [f.name, f.value]))} as const;`,
    `export const FRAME_SIZES = [${spec.umem.frameSizes.join(', ')}] as const;`,
  );
  return `${lines.join('\n')}\n`;
}

/** C names: the shim keeps its own, a handler's header has them all under one prefix. */
const HANDLER_NAMES = {
  guard: 'AFXDP_ABI_H',
  counters: 'afxdp_counter',
  counter: 'AFXDP_COUNTER_',
  desc: 'afxdp_desc',
  verdicts: 'afxdp_verdict',
  verdict: 'AFXDP_VERDICT_',
  config: 'afxdp_config',
};

function cStruct(name, fields, size) {
  const lines = [`struct ${name} {`];
  let at = 0;
  for (const f of fields) {
    if (f.offset > at) lines.push(`\tuint8_t pad_${at}[${f.offset - at}];`);
    const cName = snake(f.name).toLowerCase();
    lines.push(`\t${f.type === 'u32' ? 'uint32_t' : 'uint8_t'} ${cName}${f.count ? `[${f.count}]` : ''}; // ${f.doc}`);
    at = f.offset + fieldBytes(f);
  }
  lines.push('};', `AFXDP_STATIC_ASSERT(sizeof(struct ${name}) == ${size}, "struct ${name} is ${size} bytes");`);
  for (const f of fields) {
    const cName = snake(f.name).toLowerCase();
    const at = `__builtin_offsetof(struct ${name}, ${cName})`;
    lines.push(`AFXDP_STATIC_ASSERT(${at} == ${f.offset}, "${cName} at ${f.offset}");`);
  }
  return lines;
}

function cHeader(spec, names, intro) {
  const { counters, config, batch } = spec;
  const lines = [
    `// ${STAMP}`,
    ...intro.map((l) => `// ${l}`),
    `#ifndef ${names.guard}`,
    `#define ${names.guard}`,
    "#include <stdint.h> // freestanding: the compiler's own, no libc",
    '',
    '#ifndef AFXDP_STATIC_ASSERT',
    '#ifdef __cplusplus',
    '#define AFXDP_STATIC_ASSERT static_assert',
    '#else',
    '#define AFXDP_STATIC_ASSERT _Static_assert',
    '#endif',
    '#endif',
    '',
  ];
  for (const c of constants(spec).filter((c) => !c.verdict)) {
    lines.push(...wrap('// ', c.doc), `#define AFXDP_${c.name} ${literal(c)}u`);
  }
  const verdicts = spec.verdicts.map((v) => `\t${names.verdict}${snake(v.name)} = ${v.value}, // ${v.doc}`);
  lines.push('', `enum ${names.verdicts} {`, ...verdicts, '};');
  lines.push(
    '',
    `// Counter indices: u64 at AFXDP_COUNTERS_OFFSET + 8 x index.`,
    `enum ${names.counters} {`,
    ...counters.list.map((c) => `\t${names.counter}${snake(c.name)}, // ${c.doc}`),
    `\t${names.counter}COUNT`,
    '};',
  );
  const descFields = batch.fields.map((f) => ({ ...f, type: 'u32', doc: `in: ${f.in}; out: ${f.out}` }));
  lines.push('', '// One packet of a batch.', ...cStruct(names.desc, descFields, batch.descriptorSize));
  const used = Math.max(...config.fields.map((f) => f.offset + fieldBytes(f)));
  lines.push(
    '',
    "// The handler config block's fields (it is HANDLER_CONFIG_SIZE bytes long).",
    ...cStruct(names.config, config.fields, Math.ceil(used / 4) * 4),
    ...abiExport(),
    '',
    `#endif // ${names.guard}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The ABI_VERSION export, for a handler compiled to wasm. clang gives a wasm global (address space 1)
 * no initial value, so the global is mutable and _start() sets it: the host runs _start() before it
 * reads the global.
 */
function abiExport() {
  return [
    '',
    '#ifdef __wasm__',
    '// Put AFXDP_ABI_EXPORT; once at file scope: it defines the exported ABI_VERSION global and the',
    '// _start() that sets it (the host runs _start() once, before it reads the global and calls init()).',
    '// Needs -mmutable-globals: clang cannot give a wasm global an initial value.',
    '#define AFXDP_ABI_EXPORT                                                                 \\',
    '\t__attribute__((address_space(1))) uint32_t ABI_VERSION;                           \\',
    '\t__asm__(".export_name ABI_VERSION, ABI_VERSION");                                 \\',
    '\t__attribute__((export_name("_start"))) void _start(void)                          \\',
    '\t{                                                                                 \\',
    '\t\tABI_VERSION = AFXDP_ABI_VERSION;                                             \\',
    '\t}                                                                                 \\',
    '\t_Static_assert(1, "")',
    '#endif',
  ];
}

/** The shadow stack of a C handler: wasm-ld puts it after the data, so it stays in the handler region. */
const C_STACK_BYTES = 64 * 1024;

/**
 * clang's arguments that build a handler written in C to the contract (one clang call, which runs wasm-ld):
 * wasm32 without libc, the memory imported and shared (atomics, bulk memory) at the contract's size, data
 * and stack from HANDLER_BASE. Add the source and -o out.wasm.
 */
export function cHandlerArgs(root) {
  const spec = readSpec(readFileSync(join(root, SPEC), 'utf8'));
  const { handler, pageSize } = spec;
  const memoryBytes = handler.offset + handler.pages * pageSize;
  return [
    '--target=wasm32',
    '-O2',
    '-Wall',
    '-nostdlib',
    '-ffreestanding',
    '-matomics',
    '-mbulk-memory',
    '-mmutable-globals',
    `-I${join(root, 'asm', 'include')}`,
    '-Wl,--no-entry,--import-memory,--shared-memory',
    `-Wl,--initial-memory=${memoryBytes},--max-memory=${memoryBytes}`,
    `-Wl,--global-base=${handler.offset},-z,stack-size=${C_STACK_BYTES}`,
  ];
}

const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');

function memoryTable(spec) {
  const { control, counters, config, batch, umem, handover, handler } = spec;
  const words = control.words.map((w, i) => `\`[${i}]\` ${w.name}`).join(', ');
  const at = (name, n) => `\`0x${n.toString(16).padStart(4, '0')}\` \`${name}\``;
  const handlerSize = handler.pages * spec.pageSize;
  return table(
    ['offset', 'size', 'what', 'who writes'],
    [
      [at('CONTROL_OFFSET', control.offset), sizeText(control.size), `${control.what}: ${words}`, control.writer],
      [
        at('COUNTERS_OFFSET', counters.offset),
        sizeText(counters.size),
        `${counters.what}, ${counters.list.length} used: see *Counters*`,
        counters.writer,
      ],
      [at('HANDLER_CONFIG_OFFSET', config.offset), sizeText(config.size), config.what, config.writer],
      [
        at('BATCH_OFFSET', batch.offset),
        `up to ${batch.maxDescriptors} × ${batch.descriptorSize} B`,
        batch.what,
        batch.writer,
      ],
      [at('UMEM_OFFSET', umem.offset), 'frames × frame size, up to `STATE_HANDOVER_OFFSET`', umem.what, umem.writer],
      [
        `${at('STATE_HANDOVER_OFFSET', handover.offset)} (${sizeText(handover.offset)})`,
        sizeText(handover.size),
        handover.what,
        handover.writer,
      ],
      [
        `${at('HANDLER_BASE', handler.offset)} (${sizeText(handler.offset)})`,
        sizeText(handlerSize),
        handler.what,
        handler.writer,
      ],
    ],
  );
}

function numbersTable(spec) {
  const byName = Object.fromEntries(constants(spec).map((c) => [c.name, c]));
  const pages = byName.MEMORY_PAGES.value;
  const names = [
    'ABI_VERSION',
    'DESC_SIZE',
    'MAX_BATCH',
    'XDP_HEADROOM',
    'MIN_FRAME_ROOM',
    'TX_MIN_LEN',
    'HANDLER_PAGES',
    'STATE_MAX_LEN',
  ];
  const named = names.map((n) => byName[n]);
  return table(
    ['name', 'value', 'what'],
    [
      ...named.map((c) => [`\`${c.name}\``, literal(c), c.doc.replace(/\.$/, '')]),
      ['frame sizes', spec.umem.frameSizes.join(', '), 'bytes of a UMEM frame (`--frame-size`)'],
      ['`MEMORY_PAGES`', `${pages} (${sizeText(pages * spec.pageSize)})`, byName.MEMORY_PAGES.doc.replace(/\.$/, '')],
    ],
  );
}

function configTable(spec) {
  const flags = spec.config.flags.map((f) => `${f.value} = ${f.doc}`).join(', ');
  return table(
    ['offset', 'field'],
    spec.config.fields.map((f) => {
      const type = f.count ? `${f.type}[${f.count}]` : f.type;
      return [String(f.offset), `\`${f.name}\` ${type}: ${f.name === 'flags' ? flags : f.doc}`];
    }),
  );
}

function descriptorTable(spec) {
  const rows = spec.batch.fields.map((f) => [String(f.offset), `\`${f.name}\` u32`, f.in, f.out]);
  return table(['offset', 'field', 'in', 'out'], rows);
}

function countersTable(spec) {
  return table(
    ['index', 'name', 'meaning'],
    spec.counters.list.map((c, i) => [String(i), c.name, c.doc]),
  );
}

const TABLES = {
  memory: memoryTable,
  numbers: numbersTable,
  config: configTable,
  descriptor: descriptorTable,
  counters: countersTable,
};

/** CONTRACT.md with each table between its markers written afresh; the prose around them is kept. */
function contractMarkdown(spec, current) {
  let text = current;
  for (const [name, render] of Object.entries(TABLES)) {
    const begin = `<!-- table ${name}: ${STAMP} -->`;
    const end = `<!-- end of table ${name} -->`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) {
      throw new SpecError(`${CONTRACT_MD}: no place for the ${name} table; put ${begin} and ${end} where it goes`);
    }
    text = `${text.slice(0, from + begin.length)}\n${render(spec)}\n${text.slice(to)}`;
  }
  return text;
}

/** path -> the content it should have, for every file this script writes. */
function renderAll(root) {
  const spec = readSpec(readFileSync(join(root, SPEC), 'utf8'));
  return {
    [GENERATED.assemblyscript]: assemblyScript(spec),
    [GENERATED.typescript]: typeScript(spec),
    [GENERATED.handlerC]: cHeader(spec, HANDLER_NAMES, [
      'For a handler written in C: the memory layout, descriptor,',
      'verdicts, config block and counters of the host/handler contract (asm/CONTRACT.md).',
    ]),
    [CONTRACT_MD]: contractMarkdown(spec, readFileSync(join(root, CONTRACT_MD), 'utf8')),
  };
}

const readOrEmpty = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

function main(argv) {
  const at = argv.indexOf('--root');
  const root = at >= 0 ? resolve(argv[at + 1] ?? '.') : resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const outputs = renderAll(root);
  if (!argv.includes('--check')) {
    for (const [path, text] of Object.entries(outputs)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return 0;
  }
  const stale = Object.keys(outputs).filter((path) => readOrEmpty(join(root, path)) !== outputs[path]);
  for (const path of stale) console.error(`contract: ${path} disagrees with ${SPEC}; run node scripts/contract.mjs`);
  return stale.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof SpecError || err instanceof SyntaxError)) throw err;
    console.error(`contract: ${err.message}`);
    process.exitCode = 1;
  }
}
