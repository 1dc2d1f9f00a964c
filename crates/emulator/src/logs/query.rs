//! The CloudWatch Logs Insights query language, as far as the emulator evaluates it: `filter`,
//! `parse` (a regular expression with named groups), `fields`, `stats` (without `by`) and
//! `limit`, with the operators and functions the CloudWatch Logs User Guide documents
//! ("CloudWatch Logs Insights language query syntax": comparison `= != < <= > >=`, Boolean
//! `and or not`, arithmetic `+ - * / %`, general functions `coalesce` and `ispresent`, stats
//! functions `count sum avg min max`). Anything else is refused as `MalformedQueryException`
//! rather than guessed at.

/// A parsed query: its commands in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The pipeline.
    pub commands: Vec<Command>,
}

/// One command of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `filter <expr>`: keeps the events for which it is true.
    Filter(Expr),
    /// `parse <field> /regex/`: the named groups become fields.
    Parse {
        /// The field read.
        field: String,
        /// The expression (between the slashes).
        pattern: String,
    },
    /// `fields <expr> [as name], ...`.
    Fields(Vec<(Expr, String)>),
    /// `stats <aggregate> [as name], ...`: one row.
    Stats(Vec<(Aggregate, String)>),
    /// `limit <n>`.
    Limit(usize),
}

/// A stats function over the events.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregate {
    /// `count(*)` or `count()`.
    CountAll,
    /// `count(expr)`: events where it has a value.
    Count(Expr),
    /// `sum(expr)`.
    Sum(Expr),
    /// `avg(expr)`.
    Avg(Expr),
    /// `min(expr)`.
    Min(Expr),
    /// `max(expr)`.
    Max(Expr),
}

/// An expression over one event's fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field (`@billedDuration`, `record.metrics.durationMs`, `` `a-b` ``).
    Field(String),
    /// A number.
    Number(f64),
    /// A string literal.
    Text(String),
    /// A binary operation.
    Binary(Box<Expr>, Op, Box<Expr>),
    /// `not <expr>`.
    Not(Box<Expr>),
    /// `-<expr>`.
    Negate(Box<Expr>),
    /// `coalesce(a, b, ...)`.
    Coalesce(Vec<Expr>),
    /// `ispresent(field)`.
    IsPresent(String),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

/// A query the emulator cannot read: `MalformedQueryException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Field(String),
    Number(f64),
    Text(String),
    Regex(String),
    Symbol(&'static str),
}

const SYMBOLS: [&str; 14] = [
    "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",",
];

fn lex(text: &str) -> Result<Vec<Vec<Token>>, Malformed> {
    let mut commands = vec![Vec::new()];
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    // A `/` starts a regular expression right after `parse <field>`.
    let regex_next =
        |tokens: &[Token]| matches!(tokens, [Token::Word(w), Token::Field(_)] if w == "parse");
    while i < chars.len() {
        let c = chars[i];
        let tokens = commands
            .last_mut()
            .ok_or_else(|| Malformed("empty".into()))?;
        if c.is_whitespace() {
            i += 1;
        } else if c == '|' {
            commands.push(Vec::new());
            i += 1;
        } else if c == '/' && regex_next(tokens) {
            let end = (i + 1..chars.len())
                .find(|&k| chars[k] == '/' && chars[k - 1] != '\\')
                .ok_or_else(|| Malformed("unterminated regular expression".into()))?;
            tokens.push(Token::Regex(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c == '"' || c == '\'' || c == '`' {
            let end = (i + 1..chars.len())
                .find(|&k| chars[k] == c)
                .ok_or_else(|| Malformed(format!("unterminated {c}")))?;
            let inner: String = chars[i + 1..end].iter().collect();
            tokens.push(if c == '`' {
                Token::Field(inner)
            } else {
                Token::Text(inner)
            });
            i = end + 1;
        } else if c.is_ascii_digit() {
            let end = (i..chars.len())
                .find(|&k| !(chars[k].is_ascii_digit() || chars[k] == '.'))
                .unwrap_or(chars.len());
            let text: String = chars[i..end].iter().collect();
            let number = text
                .parse()
                .map_err(|_| Malformed(format!("bad number {text}")))?;
            tokens.push(Token::Number(number));
            i = end;
        } else if c == '@' || c.is_alphabetic() || c == '_' {
            let end = (i + 1..chars.len())
                .find(|&k| !(chars[k].is_alphanumeric() || matches!(chars[k], '_' | '.' | '@')))
                .unwrap_or(chars.len());
            let word: String = chars[i..end].iter().collect();
            let keyword = matches!(
                word.as_str(),
                "filter" | "parse" | "fields" | "stats" | "limit" | "as" | "and" | "or" | "not"
            );
            let function = chars.get(end) == Some(&'(');
            tokens.push(if keyword || function {
                Token::Word(word)
            } else {
                Token::Field(word)
            });
            i = end;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let symbol = SYMBOLS
                .iter()
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| Malformed(format!("unexpected character {c:?}")))?;
            tokens.push(Token::Symbol(symbol));
            i += symbol.len();
        }
    }
    Ok(commands)
}

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, Malformed> {
    let commands = lex(text)?
        .into_iter()
        .map(|tokens| Parser { tokens, at: 0 }.command())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Query { commands })
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, Malformed> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| Malformed("unexpected end of command".into()))?;
        self.at += 1;
        Ok(token)
    }

    fn word_is(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn symbol_is(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), Malformed> {
        match self.next()? {
            Token::Symbol(s) if s == symbol => Ok(()),
            other => Err(Malformed(format!("expected {symbol}, found {other:?}"))),
        }
    }

    fn command(mut self) -> Result<Command, Malformed> {
        let Token::Word(name) = self.next()? else {
            return Err(Malformed("a command must start with its name".into()));
        };
        let command = match name.as_str() {
            "filter" => Command::Filter(self.expr()?),
            "parse" => match (self.next()?, self.next()?) {
                (Token::Field(field), Token::Regex(pattern)) => Command::Parse { field, pattern },
                _ => return Err(Malformed("parse takes a field and a /regex/".into())),
            },
            "fields" => Command::Fields(self.list(|p| p.expr(), default_name)?),
            "stats" => Command::Stats(self.list(|p| p.aggregate(), |_| String::new())?),
            "limit" => match self.next()? {
                Token::Number(n) if n >= 1.0 && n.fract() == 0.0 => Command::Limit(n as usize),
                other => return Err(Malformed(format!("bad limit {other:?}"))),
            },
            other => return Err(Malformed(format!("unsupported command {other}"))),
        };
        match self.peek() {
            None => Ok(command),
            Some(extra) => Err(Malformed(format!("unexpected {extra:?} after {name}"))),
        }
    }

    /// `item [as name], ...`; an item without `as` gets `unnamed(item)`'s name.
    fn list<T>(
        &mut self,
        item: impl Fn(&mut Parser) -> Result<T, Malformed>,
        unnamed: impl Fn(&T) -> String,
    ) -> Result<Vec<(T, String)>, Malformed> {
        let mut out = Vec::new();
        loop {
            let value = item(self)?;
            let name = if self.word_is("as") {
                self.at += 1;
                match self.next()? {
                    Token::Field(name) => name,
                    other => return Err(Malformed(format!("bad name {other:?}"))),
                }
            } else {
                unnamed(&value)
            };
            if name.is_empty() {
                return Err(Malformed("a stats function needs `as <name>`".into()));
            }
            out.push((value, name));
            if !self.symbol_is(",") {
                return Ok(out);
            }
            self.at += 1;
        }
    }

    fn aggregate(&mut self) -> Result<Aggregate, Malformed> {
        let Token::Word(name) = self.next()? else {
            return Err(Malformed("stats takes functions".into()));
        };
        self.expect_symbol("(")?;
        if name == "count" && (self.symbol_is("*") || self.symbol_is(")")) {
            if self.symbol_is("*") {
                self.at += 1;
            }
            self.expect_symbol(")")?;
            return Ok(Aggregate::CountAll);
        }
        let arg = self.expr()?;
        self.expect_symbol(")")?;
        Ok(match name.as_str() {
            "count" => Aggregate::Count(arg),
            "sum" => Aggregate::Sum(arg),
            "avg" => Aggregate::Avg(arg),
            "min" => Aggregate::Min(arg),
            "max" => Aggregate::Max(arg),
            other => return Err(Malformed(format!("unsupported stats function {other}"))),
        })
    }

    fn expr(&mut self) -> Result<Expr, Malformed> {
        self.binary(0)
    }

    /// Precedence climbing: `or` < `and` < comparisons < `+ -` < `* / %`.
    fn binary(&mut self, level: usize) -> Result<Expr, Malformed> {
        const LEVELS: [&[(&str, Op)]; 5] = [
            &[("or", Op::Or)],
            &[("and", Op::And)],
            &[
                ("=", Op::Eq),
                ("!=", Op::Ne),
                ("<", Op::Lt),
                ("<=", Op::Le),
                (">", Op::Gt),
                (">=", Op::Ge),
            ],
            &[("+", Op::Add), ("-", Op::Sub)],
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        loop {
            let op = ops.iter().find(|(text, _)| match self.peek() {
                Some(Token::Word(w)) => w == text,
                Some(Token::Symbol(s)) => s == text,
                _ => false,
            });
            let Some((_, op)) = op else {
                return Ok(left);
            };
            self.at += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(Box::new(left), *op, Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, Malformed> {
        if self.word_is("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.symbol_is("-") {
            self.at += 1;
            return Ok(Expr::Negate(Box::new(self.unary()?)));
        }
        match self.next()? {
            Token::Number(n) => Ok(Expr::Number(n)),
            Token::Text(t) => Ok(Expr::Text(t)),
            Token::Field(f) => Ok(Expr::Field(f)),
            Token::Symbol("(") => {
                let inner = self.expr()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            Token::Word(function) => self.function(&function),
            other => Err(Malformed(format!("unexpected {other:?}"))),
        }
    }

    fn function(&mut self, name: &str) -> Result<Expr, Malformed> {
        self.expect_symbol("(")?;
        let mut args = vec![self.expr()?];
        while self.symbol_is(",") {
            self.at += 1;
            args.push(self.expr()?);
        }
        self.expect_symbol(")")?;
        match (name, args.as_slice()) {
            ("coalesce", _) => Ok(Expr::Coalesce(args)),
            ("ispresent", [Expr::Field(f)]) => Ok(Expr::IsPresent(f.clone())),
            _ => Err(Malformed(format!("unsupported function {name}"))),
        }
    }
}

/// The name `fields` gives an item without `as`: a field keeps its own.
fn default_name(expr: &Expr) -> String {
    match expr {
        Expr::Field(f) => f.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_parse() {
        let q = parse(
            "filter @type = \"REPORT\" or type = 'platform.report' | parse @message /Init Duration: (?<init>[0-9.]+) ms/ | fields coalesce(a, b.c, 0) * 2 as x | stats count(*) as n, sum(x - 1) as s | limit 5",
        )
        .expect("parses");
        assert_eq!(q.commands.len(), 5);
        assert_eq!(
            q.commands[0],
            Command::Filter(Expr::Binary(
                Box::new(Expr::Binary(
                    Box::new(Expr::Field("@type".into())),
                    Op::Eq,
                    Box::new(Expr::Text("REPORT".into()))
                )),
                Op::Or,
                Box::new(Expr::Binary(
                    Box::new(Expr::Field("type".into())),
                    Op::Eq,
                    Box::new(Expr::Text("platform.report".into()))
                ))
            ))
        );
        assert_eq!(
            q.commands[1],
            Command::Parse {
                field: "@message".into(),
                pattern: "Init Duration: (?<init>[0-9.]+) ms".into()
            }
        );
        assert_eq!(q.commands[4], Command::Limit(5));
        // Multiplication binds tighter than addition.
        let Command::Fields(items) = &parse("fields 1 + 2 * 3 as v").expect("v").commands[0] else {
            panic!("fields");
        };
        assert_eq!(
            items[0].0,
            Expr::Binary(
                Box::new(Expr::Number(1.0)),
                Op::Add,
                Box::new(Expr::Binary(
                    Box::new(Expr::Number(2.0)),
                    Op::Mul,
                    Box::new(Expr::Number(3.0))
                ))
            )
        );
    }

    #[test]
    fn what_is_not_emulated_is_malformed() {
        for bad in [
            "stats count(*) as n by bin(5m)",
            "sort @timestamp desc",
            "stats pct(@duration, 99) as p",
            "stats count(*)",
            "filter @message like /x/",
            "fields \"unterminated",
            "filter",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
