//! `-o yaml`: PyYAML's `yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)`, byte for byte, as az
//! prints it (docs/az-behaviour.md, "Output formats"), for the JSON values commands return.
//!
//! A port of the parts of PyYAML 6's emitter (`yaml/emitter.py`), serializer, resolver and safe representer that
//! JSON data reaches: block mappings with sorted keys (simple keys, `? ` for long, empty or multi-line ones),
//! block sequences (not indented under a mapping key), `{}` and `[]` for empty collections, and scalars in the
//! style PyYAML chooses: plain unless the YAML 1.1 resolver would read the text as something else (`yes`, `on`,
//! `0123`, `1:30`, `2024-01-01`, `~`, `<<`, …) or it has indicators, edge spaces or line breaks; else single
//! quoted; double quoted with escapes for special characters. Long plain and quoted scalars fold at spaces past
//! column 80. Floats are Python's `repr` (`1.0`, `1.0e+16`, `.inf`). Anchors, tags and block scalars are never
//! needed for JSON values. The goldens in `tests/fixtures/yaml/pyyaml-goldens.json` come from the real PyYAML
//! (`scripts/gen-yaml-goldens.py`).

use serde_json::Value;

/// PyYAML's `best_width`.
const WIDTH: usize = 80;
/// PyYAML's `best_indent`.
const INDENT: usize = 2;

/// ANSI colours for `yamlc` on a terminal: mapping keys, strings, numbers, and `null`/booleans.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Palette {
    /// Mapping keys.
    pub key: &'static str,
    /// String values.
    pub string: &'static str,
    /// Numbers.
    pub number: &'static str,
    /// `null`, `true`, `false`.
    pub literal: &'static str,
}

/// The YAML text of `value` as `yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)` writes it.
pub(crate) fn to_yaml(value: &Value, palette: Option<Palette>) -> String {
    let mut emitter = Emitter {
        out: String::new(),
        palette,
        indents: Vec::new(),
        indent: None,
        flow_level: 0,
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
    };
    emitter.document(value);
    emitter.out
}

/// A scalar as the representer makes it: its text, whether it is a `str` (else bool, int, float or null), and
/// the colour it gets.
struct Scalar {
    text: String,
    is_str: bool,
    colour: Option<&'static str>,
}

impl Scalar {
    fn of(value: &Value, palette: Option<Palette>) -> Scalar {
        let (text, is_str, colour) = match value {
            Value::Null => ("null".to_string(), false, palette.map(|p| p.literal)),
            Value::Bool(flag) => (flag.to_string(), false, palette.map(|p| p.literal)),
            Value::Number(number) => {
                let text = match (number.as_i64(), number.as_u64(), number.as_f64()) {
                    (Some(int), _, _) => int.to_string(),
                    (None, Some(int), _) => int.to_string(),
                    (None, None, Some(float)) => float_repr(float),
                    _ => number.to_string(),
                };
                (text, false, palette.map(|p| p.number))
            }
            Value::String(text) => (text.clone(), true, palette.map(|p| p.string)),
            Value::Array(_) | Value::Object(_) => (String::new(), false, None),
        };
        Scalar {
            text,
            is_str,
            colour,
        }
    }

    fn key(key: &str, palette: Option<Palette>) -> Scalar {
        Scalar {
            text: key.to_string(),
            is_str: true,
            colour: palette.map(|p| p.key),
        }
    }
}

/// PyYAML's `represent_float`: Python's `repr`, lower case, `.0` added before an exponent without a point.
fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return ".nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let repr = python_repr(value);
    if !repr.contains('.') && repr.contains('e') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, fixed notation for exponents -4..16, else
/// `d.ddde+XX`.
fn python_repr(value: f64) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        } else {
            let point = exponent as usize + 1;
            let (integer, fraction) = if digits.len() > point {
                (digits[..point].to_string(), digits[point..].to_string())
            } else {
                (
                    format!("{digits}{}", "0".repeat(point - digits.len())),
                    "0".to_string(),
                )
            };
            format!("{sign}{integer}.{fraction}")
        }
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs())
    }
}

/// Whether PyYAML's resolver reads `text`, written plain, as something other than a string (`yaml/resolver.py`:
/// bool, float, int, merge, null, timestamp, value, yaml). Python's `$` also matches before a final newline.
fn resolves_to_non_string(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return true; // '' is null
    };
    let candidates = [Some(text), text.strip_suffix('\n')];
    candidates.into_iter().flatten().any(|body| {
        let bytes = body.as_bytes();
        ("yYnNtTfFoO".contains(first) && is_bool(body))
            || ("-+0123456789.".contains(first) && is_float(bytes))
            || ("-+0123456789".contains(first) && is_int(bytes))
            || (first == '<' && body == "<<")
            || ("~nN".contains(first) && matches!(body, "~" | "null" | "Null" | "NULL"))
            || (first.is_ascii_digit() && is_timestamp(bytes))
            || (first == '=' && body == "=")
            || ("!&*".contains(first) && matches!(body, "!" | "&" | "*"))
    })
}

fn is_bool(text: &str) -> bool {
    matches!(
        text,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A cursor over ASCII bytes for the resolver's patterns.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Consume one byte if it satisfies `class`.
    fn one(&mut self, class: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(byte) if class(byte) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// Consume bytes while they satisfy `class`; how many.
    fn many(&mut self, class: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.one(&class) {}
        self.at - start
    }

    fn literal(&mut self, text: &str) -> bool {
        if self.bytes[self.at..].starts_with(text.as_bytes()) {
            self.at += text.len();
            true
        } else {
            false
        }
    }

    fn sign(&mut self) {
        self.one(|b| b == b'+' || b == b'-');
    }
}

fn digit(byte: u8) -> bool {
    byte.is_ascii_digit()
}

fn digit_or_underscore(byte: u8) -> bool {
    byte.is_ascii_digit() || byte == b'_'
}

/// `(?::[0-5]?[0-9])+` then whatever `rest` accepts: sexagesimal parts.
fn sexagesimal(cursor: &mut Cursor<'_>) -> bool {
    let mut parts = 0;
    while cursor.peek() == Some(b':') {
        cursor.at += 1;
        let start = cursor.at;
        let count = cursor.many(digit);
        let valid = count == 1 || (count == 2 && cursor.bytes[start] <= b'5');
        if !valid {
            return false;
        }
        parts += 1;
    }
    parts > 0
}

/// `[eE][-+][0-9]+`, optional, then the end.
fn optional_exponent_then_end(cursor: &mut Cursor<'_>) -> bool {
    if cursor.one(|b| b == b'e' || b == b'E')
        && (!cursor.one(|b| b == b'+' || b == b'-') || cursor.many(digit) == 0)
    {
        return false;
    }
    cursor.done()
}

/// PyYAML's float pattern.
fn is_float(bytes: &[u8]) -> bool {
    // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    let mut cursor = Cursor::new(bytes);
    cursor.sign();
    if cursor.one(digit) {
        cursor.many(digit_or_underscore);
        if cursor.one(|b| b == b'.') {
            cursor.many(digit_or_underscore);
            if optional_exponent_then_end(&mut cursor) {
                return true;
            }
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    let mut cursor = Cursor::new(bytes);
    if cursor.literal(".") && cursor.one(digit) {
        cursor.many(digit_or_underscore);
        if optional_exponent_then_end(&mut cursor) {
            return true;
        }
    }
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    let mut cursor = Cursor::new(bytes);
    cursor.sign();
    if cursor.one(digit) {
        cursor.many(digit_or_underscore);
        if sexagesimal(&mut cursor) && cursor.one(|b| b == b'.') {
            cursor.many(digit_or_underscore);
            if cursor.done() {
                return true;
            }
        }
    }
    // [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    let unsigned = bytes.strip_prefix(b"-").or(bytes.strip_prefix(b"+"));
    matches!(unsigned.unwrap_or(bytes), b".inf" | b".Inf" | b".INF")
        || matches!(bytes, b".nan" | b".NaN" | b".NAN")
}

/// PyYAML's int pattern.
fn is_int(bytes: &[u8]) -> bool {
    let unsigned = bytes
        .strip_prefix(b"-")
        .or(bytes.strip_prefix(b"+"))
        .unwrap_or(bytes);
    let all =
        |rest: &[u8], class: fn(u8) -> bool| !rest.is_empty() && rest.iter().all(|&b| class(b));
    // 0b[0-1_]+ | 0x[0-9a-fA-F_]+ | 0[0-7_]+ | 0
    if let Some(rest) = unsigned.strip_prefix(b"0b") {
        return all(rest, |b| matches!(b, b'0' | b'1' | b'_'));
    }
    if let Some(rest) = unsigned.strip_prefix(b"0x") {
        return all(rest, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(rest) = unsigned.strip_prefix(b"0") {
        return rest.is_empty() || all(rest, |b| matches!(b, b'0'..=b'7' | b'_'));
    }
    // [1-9][0-9_]* | [1-9][0-9_]*(?::[0-5]?[0-9])+
    let mut cursor = Cursor::new(unsigned);
    if !cursor.one(|b| matches!(b, b'1'..=b'9')) {
        return false;
    }
    cursor.many(digit_or_underscore);
    cursor.done() || (sexagesimal(&mut cursor) && cursor.done())
}

/// PyYAML's timestamp pattern: `YYYY-MM-DD`, or a date and time with optional fraction and zone.
fn is_timestamp(bytes: &[u8]) -> bool {
    let mut cursor = Cursor::new(bytes);
    if cursor.many(digit) != 4 || !cursor.literal("-") {
        return false;
    }
    let month = cursor.many(digit);
    if !cursor.literal("-") {
        return false;
    }
    let day = cursor.many(digit);
    if month == 2 && day == 2 && cursor.done() {
        return true;
    }
    if !(1..=2).contains(&month) || !(1..=2).contains(&day) {
        return false;
    }
    // (?:[Tt]|[ \t]+)
    if !cursor.one(|b| b == b'T' || b == b't') && cursor.many(|b| b == b' ' || b == b'\t') == 0 {
        return false;
    }
    let hour = cursor.many(digit);
    if !(1..=2).contains(&hour) || !cursor.literal(":") || cursor.many(digit) != 2 {
        return false;
    }
    if !cursor.literal(":") || cursor.many(digit) != 2 {
        return false;
    }
    if cursor.literal(".") {
        cursor.many(digit);
    }
    if cursor.done() {
        return true;
    }
    // [ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?)
    cursor.many(|b| b == b' ' || b == b'\t');
    if cursor.literal("Z") {
        return cursor.done();
    }
    if !cursor.one(|b| b == b'+' || b == b'-') || !(1..=2).contains(&cursor.many(digit)) {
        return false;
    }
    if cursor.literal(":") && cursor.many(digit) != 2 {
        return false;
    }
    cursor.done()
}

/// PyYAML's `ScalarAnalysis` (with `allow_unicode`).
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(ch: char) -> bool {
    matches!(ch, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_break(ch: char) -> bool {
    matches!(ch, '\0' | ' ' | '\t' | '\r') || is_break(ch)
}

/// `Emitter.analyze_scalar`.
fn analyze(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    ScalarFindings::scan(text).analysis()
}

/// What PyYAML's `analyze_scalar` notices while it walks a non-empty scalar.
#[derive(Default)]
struct ScalarFindings {
    block_indicators: bool,
    flow_indicators: bool,
    line_breaks: bool,
    special_characters: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

impl ScalarFindings {
    /// One pass over the characters, as PyYAML walks them.
    fn scan(text: &[char]) -> ScalarFindings {
        let mut found = ScalarFindings::default();
        let starts = |prefix: &str| {
            let prefix: Vec<char> = prefix.chars().collect();
            text.starts_with(&prefix)
        };
        if starts("---") || starts("...") {
            found.block_indicators = true;
            found.flow_indicators = true;
        }
        let mut preceded_by_whitespace = true;
        let mut followed_by_whitespace = text.len() == 1 || is_blank_or_break(text[1]);
        let mut previous_space = false;
        let mut previous_break = false;
        for (index, &ch) in text.iter().enumerate() {
            found.indicators(index, ch, preceded_by_whitespace, followed_by_whitespace);
            if is_break(ch) {
                found.line_breaks = true;
            }
            if !is_printable(ch) {
                found.special_characters = true;
            }
            let first = index == 0;
            let last = index == text.len() - 1;
            if ch == ' ' {
                found.leading_space |= first;
                found.trailing_space |= last;
                found.break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(ch) {
                found.leading_break |= first;
                found.trailing_break |= last;
                found.space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blank_or_break(ch);
            followed_by_whitespace = index + 2 >= text.len() || is_blank_or_break(text[index + 2]);
        }
        found
    }

    /// The flow and block indicators `ch` is at `index` (the first character has its own list).
    fn indicators(
        &mut self,
        index: usize,
        ch: char,
        preceded_by_whitespace: bool,
        followed_by_whitespace: bool,
    ) {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                self.flow_indicators = true;
                self.block_indicators = true;
            }
            if ch == '?' || ch == ':' {
                self.flow_indicators = true;
                if followed_by_whitespace {
                    self.block_indicators = true;
                }
            }
            if ch == '-' && followed_by_whitespace {
                self.flow_indicators = true;
                self.block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                self.flow_indicators = true;
            }
            if ch == ':' {
                self.flow_indicators = true;
                if followed_by_whitespace {
                    self.block_indicators = true;
                }
            }
            if ch == '#' && preceded_by_whitespace {
                self.flow_indicators = true;
                self.block_indicators = true;
            }
        }
    }

    /// Which styles the findings allow.
    fn analysis(&self) -> Analysis {
        let mut allow_flow_plain = true;
        let mut allow_block_plain = true;
        let mut allow_single_quoted = true;
        if self.leading_space || self.leading_break || self.trailing_space || self.trailing_break {
            allow_flow_plain = false;
            allow_block_plain = false;
        }
        if self.break_space {
            allow_flow_plain = false;
            allow_block_plain = false;
            allow_single_quoted = false;
        }
        if self.space_break || self.special_characters {
            allow_flow_plain = false;
            allow_block_plain = false;
            allow_single_quoted = false;
        }
        if self.line_breaks {
            allow_flow_plain = false;
            allow_block_plain = false;
        }
        if self.flow_indicators {
            allow_flow_plain = false;
        }
        if self.block_indicators {
            allow_block_plain = false;
        }
        Analysis {
            empty: false,
            multiline: self.line_breaks,
            allow_flow_plain,
            allow_block_plain,
            allow_single_quoted,
        }
    }
}

/// PyYAML's printable set for the emitter: line feed, printable ASCII, and the Unicode ranges it allows (not the BOM).
fn is_printable(ch: char) -> bool {
    if ch == '\n' || ('\x20'..='\x7e').contains(&ch) {
        return true;
    }
    (ch == '\u{85}'
        || ('\u{a0}'..='\u{d7ff}').contains(&ch)
        || ('\u{e000}'..='\u{fffd}').contains(&ch)
        || ('\u{10000}'..'\u{10ffff}').contains(&ch))
        && ch != '\u{feff}'
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
}

/// Where a node sits (PyYAML's `*_context` flags).
#[derive(Clone, Copy, Default)]
struct Context {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

/// PyYAML's emitter state, for a stream of one implicit document.
struct Emitter {
    out: String,
    palette: Option<Palette>,
    indents: Vec<Option<usize>>,
    indent: Option<usize>,
    flow_level: usize,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
}

impl Emitter {
    fn document(&mut self, value: &Value) {
        self.node(
            value,
            Context {
                root: true,
                ..Context::default()
            },
        );
        // DOCUMENT-END (implicit), then STREAM-END.
        self.write_indent();
        if self.open_ended {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { INDENT } else { 0 }),
            Some(indent) if !indentless => self.indent = Some(indent + INDENT),
            Some(_) => {}
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn node(&mut self, value: &Value, context: Context) {
        match value {
            Value::Array(items) if items.is_empty() => self.empty_flow("[", "]"),
            Value::Object(map) if map.is_empty() => self.empty_flow("{", "}"),
            Value::Array(items) => {
                let indentless = context.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Context::default());
                }
                self.pop_indent();
            }
            Value::Object(map) => {
                self.increase_indent(false, false);
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (key, child) in entries {
                    self.write_indent();
                    let key_scalar = Scalar::key(key, self.palette);
                    let key_chars: Vec<char> = key.chars().collect();
                    let analysis = analyze(&key_chars);
                    // `check_simple_key` counts the key's prepared tag (`!!str`, 5 characters) in its length
                    // limit even though the tag is never written.
                    let simple =
                        key_chars.len() + 5 < 128 && !analysis.empty && !analysis.multiline;
                    let mapping = Context {
                        mapping: true,
                        ..Context::default()
                    };
                    if simple {
                        self.scalar(
                            &key_scalar,
                            Context {
                                simple_key: true,
                                ..mapping
                            },
                        );
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.scalar(&key_scalar, mapping);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(child, mapping);
                }
                self.pop_indent();
            }
            scalar => {
                let scalar = Scalar::of(scalar, self.palette);
                self.scalar(&scalar, context);
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator(close, false, false, false);
    }

    /// `expect_scalar`: choose the style, write the text at one more indentation level.
    fn scalar(&mut self, scalar: &Scalar, context: Context) {
        let text: Vec<char> = scalar.text.chars().collect();
        let analysis = analyze(&text);
        // The serializer's `implicit[0]`: a plain scalar reads back with the node's own tag.
        let plain_implicit = !scalar.is_str || !resolves_to_non_string(&scalar.text);
        let style = self.choose_style(&analysis, plain_implicit, context);
        self.increase_indent(true, false);
        let split = !context.simple_key;
        if let Some(colour) = scalar.colour {
            // The separating space first (as the writers would), then the colour: same text, same columns.
            if !self.whitespace && !text.is_empty() {
                self.write(" ");
                self.whitespace = true;
            }
            self.out.push_str(&format!("\x1b[{colour}m"));
        }
        match style {
            Style::Plain => self.write_plain(&text, split, context.root),
            Style::Single => self.write_single_quoted(&text, split),
            Style::Double => self.write_double_quoted(&text, split),
        }
        if scalar.colour.is_some() {
            self.out.push_str("\x1b[0m");
        }
        self.pop_indent();
    }

    /// `choose_scalar_style` (no requested style, not canonical).
    fn choose_style(&self, analysis: &Analysis, plain_implicit: bool, context: Context) -> Style {
        if plain_implicit
            && !(context.simple_key && (analysis.empty || analysis.multiline))
            && ((self.flow_level > 0 && analysis.allow_flow_plain)
                || (self.flow_level == 0 && analysis.allow_block_plain))
        {
            return Style::Plain;
        }
        if analysis.allow_single_quoted && !(context.simple_key && analysis.multiline) {
            return Style::Single;
        }
        Style::Double
    }

    fn write(&mut self, text: &str) {
        self.column += text.chars().count();
        self.out.push_str(text);
    }

    fn write_chars(&mut self, text: &[char]) {
        self.column += text.len();
        self.out.extend(text.iter());
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            let spaces = " ".repeat(indent - self.column);
            self.write(&spaces);
        }
    }

    fn write_line_break(&mut self, data: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(data.unwrap_or('\n'));
    }

    /// Line breaks `text[start..end]` as the scalar writers copy them (a `\n` first doubles).
    fn write_breaks(&mut self, text: &[char], start: usize, end: usize) {
        if text[start] == '\n' {
            self.write_line_break(None);
        }
        for &br in &text[start..end] {
            if br == '\n' {
                self.write_line_break(None);
            } else {
                self.write_line_break(Some(br));
            }
        }
    }

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let mut spaces = false;
        let mut breaks = false;
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(text, start, end);
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|ch| ch == ' ' || is_break(ch)) {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if let Some(ch) = ch {
                spaces = ch == ' ';
                breaks = is_break(ch);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(text, start, end);
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|ch| ch == ' ' || is_break(ch) || ch == '\'') && start < end {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(ch) = ch {
                spaces = ch == ' ';
                breaks = is_break(ch);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            let escape = ch.is_none_or(|ch| {
                "\"\\\u{85}\u{2028}\u{2029}\u{feff}".contains(ch)
                    || !(('\x20'..='\x7e').contains(&ch)
                        || ('\u{a0}'..='\u{d7ff}').contains(&ch)
                        || ('\u{e000}'..='\u{fffd}').contains(&ch))
            });
            if escape {
                if start < end {
                    self.write_chars(&text[start..end]);
                    start = end;
                }
                if let Some(ch) = ch {
                    let data = match ch {
                        '\0' => "\\0".to_string(),
                        '\x07' => "\\a".to_string(),
                        '\x08' => "\\b".to_string(),
                        '\t' => "\\t".to_string(),
                        '\n' => "\\n".to_string(),
                        '\x0b' => "\\v".to_string(),
                        '\x0c' => "\\f".to_string(),
                        '\r' => "\\r".to_string(),
                        '\x1b' => "\\e".to_string(),
                        '"' => "\\\"".to_string(),
                        '\\' => "\\\\".to_string(),
                        '\u{85}' => "\\N".to_string(),
                        '\u{a0}' => "\\_".to_string(),
                        '\u{2028}' => "\\L".to_string(),
                        '\u{2029}' => "\\P".to_string(),
                        ch if (ch as u32) <= 0xff => format!("\\x{:02X}", ch as u32),
                        ch if (ch as u32) <= 0xffff => format!("\\u{:04X}", ch as u32),
                        ch => format!("\\U{:08X}", ch as u32),
                    };
                    self.write(&data);
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                // `end - start` is -1 right after an escape (start = end + 1).
                && self.column as isize + end as isize - start as isize > WIDTH as isize
                && split
            {
                let mut data: String = text[start.min(end)..end].iter().collect();
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.write(&data);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text[start] == ' ' {
                    self.write("\\");
                }
            }
            end += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_resolver_like_pyyaml() {
        for text in [
            "",
            "yes",
            "Off",
            "~",
            "null",
            "0123",
            "-0x1F",
            "0b1_0",
            "1_000",
            "1:30",
            "-1:30",
            "1.5",
            "1.",
            ".5",
            "-.inf",
            ".NaN",
            "1:30.5",
            "2024-01-01",
            "2024-1-1 1:00:00",
            "2024-01-01T10:00:00.5Z",
            "2024-01-01 10:00:00 -5:00",
            "<<",
            "=",
            "!",
            "yes\n",
            "12\n",
            "20240101",
        ] {
            assert!(resolves_to_non_string(text), "{text:?}");
        }
        for text in [
            "y",
            "n",
            "0129",
            "08",
            "1e3",
            "1:60",
            "0:30",
            "._5",
            ".nan\n\n",
            "2024-13",
            "2024-01-01 ",
            "<",
            "==",
            "x",
            "yes please",
            "-",
            "2024-1-1",
        ] {
            assert!(!resolves_to_non_string(text), "{text:?}");
        }
    }

    #[test]
    fn floats_like_python_repr() {
        for (value, text) in [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e16, "1.0e+16"),
            (1.5e16, "1.5e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e-5, "1.0e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (5e-324, "5.0e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(float_repr(value), text, "{value}");
        }
    }

    #[test]
    fn block_style_like_az() {
        let value = json!({"b": [1, {"c": "yes", "d": []}], "a": {}, "e": "x: y"});
        assert_eq!(
            to_yaml(&value, None),
            "a: {}\nb:\n- 1\n- c: 'yes'\n  d: []\ne: 'x: y'\n"
        );
        assert_eq!(to_yaml(&json!("x"), None), "x\n...\n");
    }

    #[test]
    fn colours_leave_the_text_alone() {
        let palette = Palette {
            key: "1",
            string: "2",
            number: "3",
            literal: "4",
        };
        let value = json!({"a": ["x", 1, null, "yes", "tab\t"], "b": {"c": ""}});
        let coloured = to_yaml(&value, Some(palette));
        assert!(
            coloured.starts_with("\x1b[1ma\x1b[0m:\n- \x1b[2mx\x1b[0m\n- \x1b[3m1\x1b[0m\n"),
            "{coloured:?}"
        );
        let mut plain = coloured.clone();
        for code in ["\x1b[1m", "\x1b[2m", "\x1b[3m", "\x1b[4m", "\x1b[0m"] {
            plain = plain.replace(code, "");
        }
        assert_eq!(plain, to_yaml(&value, None));
    }

    /// Every case of `tests/fixtures/yaml/pyyaml-goldens.json` (written by the real PyYAML through
    /// `scripts/gen-yaml-goldens.py`), byte for byte.
    #[test]
    fn pyyaml_goldens() {
        let goldens: Value = serde_json::from_str(include_str!(
            "../../../../tests/fixtures/yaml/pyyaml-goldens.json"
        ))
        .expect("the goldens are JSON");
        let cases = goldens["cases"].as_array().expect("cases");
        assert!(cases.len() > 400, "{} cases", cases.len());
        let mut failures = Vec::new();
        for case in cases {
            let expected = case["yaml"].as_str().expect("yaml");
            let actual = to_yaml(&case["value"], None);
            if actual != expected {
                failures.push(format!(
                    "{}:\n--- PyYAML\n{expected}\n--- ours\n{actual}",
                    case["name"]
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases differ:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}
