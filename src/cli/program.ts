import { randomUUID } from "node:crypto";
import os from "node:os";
import { Command, CommanderError, Help, InvalidArgumentError, Option } from "commander";
import type { Services } from "../services";

/**
 * The CLI's plumbing on commander: each command declares its own arguments and flags (so `--jit`
 * means something to `saml configure` and is refused by `org list`), its own help, and a handler
 * that runs against the services once the command line has been parsed. Parsing needs no database:
 * help and usage errors are answered before the CLI connects to one.
 */

/** What a command prints; the caller writes it out, so tests can read it. */
export interface CommandOutput {
  stdout: string[];
  exitCode: number;
}

/** Bad arguments (exit code 2): the message, then the usage of the command it concerns. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The help text of the command concerned (the CLI prints the overview when absent). */
    public help?: string,
  ) {
    super(message);
  }
}

/** Who acts: the operating-system user running the CLI, recorded with every change it makes. */
export interface OperatorContext {
  actor: { type: "operator"; id: string; name: string };
  source: "cli";
  requestId: string;
}

function operatorContext(): OperatorContext {
  const name = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return "unknown";
    }
  })();
  return { actor: { type: "operator", id: name, name: `CLI operator ${name}` }, source: "cli", requestId: `cli-${randomUUID()}` };
}

/** A command's work: what to print on standard output, from the parsed flags and arguments. */
export type Handler<O, A extends readonly unknown[]> = (services: Services, ctx: OperatorContext, options: O, args: A) => Promise<string[]>;

/** The handler the command line chose, keyed by the program that parsed it. */
const chosen = new WeakMap<Command, { command: Command; run(services: Services): Promise<string[]> }>();

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** The full name of a command, as typed: `saml configure`. */
function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Declares what `command` does: `handler`, given its flags (typed `O`) and its arguments (`A`). */
export function runs<O, A extends readonly unknown[]>(command: Command, handler: Handler<O, A>): Command {
  return command.action(function (this: Command) {
    const options = this.opts() as O;
    const args = this.processedArgs as unknown as A;
    chosen.set(rootOf(this), {
      command: this,
      run: (services) => handler(services, operatorContext(), options, args),
    });
  });
}

/**
 * `--NAME` and `--no-NAME`: on, off, or (neither given) unset, so a setting not given keeps its
 * value. Giving both is refused rather than letting the last one win.
 */
export function switchOption(command: Command, name: string, on: string, off: string): Command {
  const seen = new Set<string>();
  for (const flag of [name, `no-${name}`]) {
    command.on(`option:${flag}`, () => {
      seen.add(flag);
      if (seen.size === 2) command.error(`--${name} and --no-${name} exclude each other`, { code: "gatehouse.conflictingSwitches" });
    });
  }
  return command.option(`--${name}`, on).option(`--no-${name}`, off);
}

/** Repeatable flag (`--cert A --cert B`): the values in order. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A flag value that must not be blank (an attribute name, a name). */
export const nonBlank =
  (what: string) =>
  (value: string): string => {
    if (!value.trim()) throw new InvalidArgumentError(`Give ${what}.`);
    return value;
  };

/** A flag with a fixed set of values, shown in the help. */
export const oneOf = (flags: string, description: string, values: readonly string[]) => new Option(flags, description).choices(values);

/** Rows as aligned columns, the first line naming them; `(none)` for no rows. */
export function table(rows: Record<string, unknown>[]): string[] {
  if (rows.length === 0) return ["(none)"];
  const columns = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === undefined || v === null ? "" : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
}

// ---- Help -------------------------------------------------------------------------------------

const helpWidth = 100;
/** Where the overview's descriptions start, as in the usage text the CLI always had. */
const descriptionColumn = 39;

/** Splits a synopsis at the spaces outside brackets, so `[--role admin|user]` stays whole. */
function synopsisUnits(synopsis: string): string[] {
  const units: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of synopsis) {
    if (ch === "[" || ch === "(") depth++;
    if (ch === "]" || ch === ")") depth--;
    if (ch === " " && depth === 0) {
      if (current) units.push(current);
      current = "";
    } else current += ch;
  }
  if (current) units.push(current);
  return units;
}

/** Word-wraps `words` into lines of at most `width` (a word longer than that gets a line of its own). */
function wrap(words: string[], width: number, firstIndent: number, indent: number): string[] {
  const lines: string[] = [];
  let line = "";
  let room = width - firstIndent;
  for (const word of words) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = width - indent;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The term of an option in a synopsis: `--org ID`, `--json`, `--role admin|user` (its choices). */
function optionTerm(option: Option): string {
  const flag = option.flags.replace(/^-\w, /, "").replace(/ [<[].*$/, "");
  const value = option.argChoices?.join("|") ?? /<([^>]+)>/.exec(option.flags)?.[1];
  return value ? `${flag} ${value}` : flag;
}

/**
 * A command's synopsis from its declaration: required flags, arguments, then optional flags
 * (`--jit` and `--no-jit` as `[--jit|--no-jit]`). Commands whose flags combine in ways this
 * cannot say (one of several, repeatable) declare theirs with `.usage()`.
 */
function declaredSynopsis(command: Command): string {
  const options = command.options.filter((o) => !o.hidden);
  const required = options.filter((o) => o.mandatory).map(optionTerm);
  const optional: string[] = [];
  for (const option of options.filter((o) => !o.mandatory)) {
    if (option.negate && options.some((o) => !o.negate && o.attributeName() === option.attributeName())) continue;
    const negation = options.find((o) => o.negate && o.attributeName() === option.attributeName() && o !== option);
    optional.push(`[${optionTerm(option)}${negation ? `|${optionTerm(negation)}` : ""}]`);
  }
  const args = command.registeredArguments.map((a) => {
    const term = `${a.name()}${a.variadic ? "..." : ""}`;
    return a.required ? term : `[${term}]`;
  });
  return [...required, ...args, ...optional].join(" ");
}

/** The synopsis of a command: its own `.usage()`, else the one its declaration gives. */
function synopsisOf(command: Command): string {
  const usage = command.usage();
  return usage.startsWith("[options]") ? declaredSynopsis(command) : usage;
}

/** Every command that does something (not the groups: `org`, `saml` …), in declaration order. */
function leafCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => (c.commands.length ? leafCommands(c) : [c]));
}

/** The overview of the commands under `group` (all of them for the program): synopsis and summary of each. */
function overview(group: Command): string {
  const lines = [`Usage: ${group.parent ? `gatehouse ${pathOf(group)}` : "gatehouse"} <command> [options]`, ""];
  if (group.description()) lines.push(...wrap(group.description().split(/\s+/), helpWidth, 0, 0), "");
  for (const command of leafCommands(group)) {
    const path = pathOf(command);
    const synopsis = wrap(synopsisUnits(synopsisOf(command)), helpWidth, 2 + path.length + 1, 2 + path.length + 1);
    const head = [`  ${path} ${synopsis[0] ?? ""}`.trimEnd(), ...synopsis.slice(1).map((l) => `${" ".repeat(2 + path.length + 1)}${l}`)];
    const summary = wrap((command.summary() || command.description()).split(/\s+/), helpWidth, descriptionColumn, descriptionColumn);
    if (head.length === 1 && head[0]!.length < descriptionColumn - 1) {
      lines.push(`${head[0]!.padEnd(descriptionColumn)}${summary[0] ?? ""}`, ...summary.slice(1).map((l) => `${" ".repeat(descriptionColumn)}${l}`));
    } else {
      lines.push(...head, ...summary.map((l) => `${" ".repeat(descriptionColumn)}${l}`));
    }
  }
  lines.push("", "Help on one command: gatehouse help <command> (or gatehouse <command> --help).");
  if (!group.parent) lines.push("", "Environment: MONGODB_URI (or the embedded database in GATEHOUSE_DATA_DIR, default ./data).");
  return `${lines.join("\n")}\n`;
}

/** The help of one command: its synopsis, then commander's description, arguments and flags. */
class GatehouseHelp extends Help {
  override commandUsage(command: Command): string {
    const prefix = `gatehouse ${pathOf(command)}`;
    const units = synopsisUnits(synopsisOf(command));
    // Continuation lines align under the first flag, unless a bracketed group would not fit there.
    const aligned = "Usage: ".length + prefix.length + 1;
    const indent = units.every((u) => aligned + u.length <= helpWidth) ? aligned : "Usage: ".length + 2;
    const lines = wrap(units, helpWidth, aligned, indent);
    return [`${prefix} ${lines[0] ?? ""}`.trimEnd(), ...lines.slice(1).map((l) => `${" ".repeat(indent)}${l}`)].join("\n");
  }

  override formatHelp(command: Command, helper: Help): string {
    return command.commands.length ? overview(command) : super.formatHelp(command, helper);
  }
}

/** Commander's Command with Gatehouse's help, for the program and every command under it. */
class GatehouseCommand extends Command {
  override createCommand(name?: string): GatehouseCommand {
    return new GatehouseCommand(name);
  }

  override createHelp(): Help {
    return Object.assign(new GatehouseHelp(), this.configureHelp());
  }
}

// ---- Parsing ----------------------------------------------------------------------------------

/** What the command line asks for: text to print now (help), or a command to run against the services. */
export type Invocation = { help: CommandOutput } | { command: string; run(services: Services): Promise<CommandOutput> };

/** Printed text as the lines of a CommandOutput. */
const linesOf = (text: string) => text.replace(/\n+$/, "").split("\n");

/** The message of a commander error, as the CLI's own messages read: "Unknown option '--jit'". */
function usageMessage(error: CommanderError, command: Command): string {
  if (error.code === "commander.help") return command.parent ? `gatehouse ${pathOf(command)} needs a command` : "No command given";
  const message = error.message.replace(/^error: /, "").replace(` for '${command.name()}'`, "");
  const where = command.parent && (error.code === "commander.unknownOption" || error.code === "commander.excessArguments") ? ` (gatehouse ${pathOf(command)})` : "";
  const [first = "", ...more] = message.split("\n"); // commander may suggest a flag on a second line
  return [`${first[0]?.toUpperCase() ?? ""}${first.slice(1)}${where}`, ...more].join("\n");
}

/**
 * Parses `argv` with the program `build` declares. Help (`--help`, `-h`, `help <command>`) comes
 * back as output; bad usage — an unknown command or flag, a missing argument, a value not allowed —
 * throws UsageError carrying the help of the command concerned.
 */
export function parseWith(build: (program: Command) => void, argv: readonly string[]): Invocation {
  let out = "";
  const program = new GatehouseCommand("gatehouse");
  program
    .configureOutput({
      writeOut: (text) => (out += text),
      writeErr: () => undefined,
      outputError: () => undefined,
      getOutHelpWidth: () => helpWidth,
      getErrHelpWidth: () => helpWidth,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .helpCommand(false);
  build(program);
  // Each command's errors become usage errors that carry that command's help.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) {
    command.exitOverride((error) => {
      if (error.code === "commander.helpDisplayed") throw error;
      throw new UsageError(usageMessage(error, command), command.helpInformation());
    });
  }
  if (argv.length === 0) return { help: { stdout: linesOf(overview(program)), exitCode: 2 } };

  try {
    if (argv[0] === "help") {
      // `gatehouse help saml configure`: the help of that command, as `gatehouse saml configure --help` gives it.
      let target = program;
      for (const name of argv.slice(1)) {
        const next = target.commands.find((c) => c.name() === name);
        if (!next) throw new UsageError(`Unknown command: ${argv.slice(1).join(" ")}`);
        target = next;
      }
      target.outputHelp();
      return { help: { stdout: linesOf(out), exitCode: 0 } };
    }
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError && error.code === "commander.helpDisplayed") return { help: { stdout: linesOf(out), exitCode: 0 } };
    throw error;
  }
  const choice = chosen.get(program);
  if (!choice) throw new UsageError("No command given");
  return {
    command: pathOf(choice.command),
    async run(services) {
      try {
        return { stdout: await choice.run(services), exitCode: 0 };
      } catch (error) {
        if (error instanceof UsageError && error.help === undefined) error.help = choice.command.helpInformation();
        throw error;
      }
    },
  };
}

/** The overview of every command, as `gatehouse --help` prints it. */
export function overviewOf(build: (program: Command) => void): string {
  const result = parseWith(build, ["--help"]);
  return "help" in result ? result.help.stdout.join("\n") : "";
}
