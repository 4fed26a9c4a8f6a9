/** The texts of `herald --help` and `herald serve --help`, built from the option table. */
import { CONFIG_FLAG, OPTION_SPECS } from './serve-options.js';

export const MAIN_HELP = `Usage: herald <command> [options]

Commands:
  serve          run the Mercure hub (herald serve --help lists its options)

Options:
  -h, --help     print this help
  -v, --version  print the version
`;

/** `herald serve --help`: one line per option, with its variable and default. */
export function serveHelp(): string {
  const rows: [string, string][] = [
    [
      `--${CONFIG_FLAG.flag} <file>`,
      `JSON file of options (keys are camelCase flag names) [${CONFIG_FLAG.env}]`,
    ],
  ];
  for (const spec of OPTION_SPECS) {
    const left = spec.value === undefined ? `--${spec.flag}` : `--${spec.flag} ${spec.value}`;
    const extra = [spec.env];
    if (spec.shownDefault !== undefined) extra.push(`default: ${spec.shownDefault}`);
    rows.push([left, `${spec.help} [${extra.join(', ')}]`]);
  }
  rows.push(['-h, --help', 'print this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
  return `Usage: herald serve [options]

Runs the Mercure hub. Each option is read from its flag, else its HERALD_* variable, else the
config file, else its default. Durations take a unit: 500ms, 15s, 2m, 1h. Booleans take
--flag, --no-flag, or true/false in variables.

Options:
${lines.join('\n')}

Examples:
  herald serve --demo
  herald serve --jwt-key @secret.txt --cors-origins https://app.example.com --store sqlite:herald.db
  herald serve --publisher-jwt-key @pub.pem --jwt-algorithm RS256 --tls-cert cert.pem --tls-key key.pem --workers 4
`;
}
