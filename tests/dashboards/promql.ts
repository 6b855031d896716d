// Just enough PromQL reading to find what a dashboard query depends on: the metric names it selects
// (with their label matchers) and the label names its `by`/`without`/`on`/`ignoring`/`group_*` clauses
// name. Functions, aggregations, keywords, strings, numbers and range/offset durations are skipped.

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

export interface QueryRefs {
  readonly selectors: readonly Selector[];
  /** Label names in grouping and vector-matching clauses. */
  readonly groupingLabels: readonly string[];
}

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'punct'; text: string };

const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'atan2',
  'inf',
  'nan',
  ...LABEL_LIST_KEYWORDS,
]);

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s+|#[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*|\.\d+)|([a-zA-Z_:][a-zA-Z0-9_:]*)|(=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}[\],:@])/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < expr.length) {
    const at = re.lastIndex;
    if (!(m = re.exec(expr)))
      throw new Error(`cannot read PromQL at ${at}: "${expr.slice(at, at + 20)}" in ${expr}`);
    if (m[1] !== undefined) tokens.push({ kind: 'string', text: m[1].slice(1, -1) });
    else if (m[2] !== undefined) tokens.push({ kind: 'number', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'ident', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: 'punct', text: m[4] });
  }
  return tokens;
}

/** The metrics and grouping labels a PromQL expression refers to. Throws on unbalanced brackets. */
export function queryRefs(expr: string): QueryRefs {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  const text = (i: number) => tokens[i]?.text;
  let depth = 0;

  /** Reads `{label op "value", …}` starting at the `{`; returns the index after `}`. */
  const readMatchers = (i: number, into: Matcher[]): number => {
    i++;
    while (text(i) !== '}') {
      const [label, op, value] = [tokens[i], tokens[i + 1], tokens[i + 2]];
      if (
        label?.kind !== 'ident' ||
        !['=', '!=', '=~', '!~'].includes(op?.text) ||
        value?.kind !== 'string'
      ) {
        throw new Error(`malformed label matcher in ${expr}`);
      }
      into.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
      i += 3;
      if (text(i) === ',') i++;
    }
    return i + 1;
  };

  for (let i = 0; i < tokens.length;) {
    const t = tokens[i];
    if (t.kind === 'punct' && t.text === '[') {
      // A range or subquery: durations only (a subquery's inner expression is not supported).
      const close = tokens.findIndex((x, j) => j > i && x.text === ']');
      if (close < 0) throw new Error(`unclosed [ in ${expr}`);
      i = close + 1;
    } else if (t.kind === 'punct' && t.text === '{') {
      const matchers: Matcher[] = [];
      i = readMatchers(i, matchers);
      const name = matchers.find((m) => m.label === '__name__' && m.op === '=');
      if (!name) throw new Error(`a selector without a metric name is not supported: ${expr}`);
      selectors.push({ metric: name.value, matchers: matchers.filter((m) => m !== name) });
    } else if (t.kind === 'ident' && LABEL_LIST_KEYWORDS.has(t.text)) {
      i++;
      if (text(i) !== '(') continue; // group_left without labels
      for (i++; text(i) !== ')'; i++) {
        if (i >= tokens.length) throw new Error(`unclosed ( after ${t.text} in ${expr}`);
        if (tokens[i].kind === 'ident') groupingLabels.push(tokens[i].text);
      }
      i++;
    } else if (t.kind === 'ident' && t.text === 'offset') {
      i += 2; // offset <duration>
    } else if (t.kind === 'ident' && KEYWORDS.has(t.text.toLowerCase())) {
      i++;
    } else if (
      t.kind === 'ident' &&
      (text(i + 1) === '(' || text(i + 1) === 'by' || text(i + 1) === 'without')
    ) {
      i++; // a function, or an aggregation (whose `by (…)` may come first)
    } else if (t.kind === 'ident') {
      const matchers: Matcher[] = [];
      i = text(i + 1) === '{' ? readMatchers(i + 1, matchers) : i + 1;
      selectors.push({ metric: t.text, matchers });
    } else {
      if (t.text === '(') depth++;
      if (t.text === ')') depth--;
      if (depth < 0) throw new Error(`unbalanced ) in ${expr}`);
      i++;
    }
  }
  if (depth !== 0) throw new Error(`unbalanced ( in ${expr}`);
  return { selectors, groupingLabels };
}

/** The `{{label}}` names of a Grafana legend template. */
export function legendLabels(legend: string | undefined): string[] {
  return [...(legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]);
}
