namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// Recursive-descent parser with Jinja2's grammar and precedence: filters and tests bind tighter than
/// arithmetic (<c>a + b | trim</c> trims b), <c>**</c> is left-associative, <c>not</c> sits above comparisons.
/// </summary>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private int _pos;

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static List<Node> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var body = parser.SubParse(null);
        if (parser.Current.Kind != TokenKind.Eof) throw parser.Error($"unexpected {parser.Current}");
        return body;
    }

    private Token Current => _tokens[_pos];
    private Token Peek(int n = 1) => _tokens[Math.Min(_pos + n, _tokens.Count - 1)];
    private Token Next() => _tokens[_pos < _tokens.Count - 1 ? _pos++ : _pos];

    private TemplateSyntaxException Error(string message, Token? at = null) => new(message, (at ?? Current).Line);

    /// <summary>
    /// Called where the grammar recurses (blocks, parentheses, unary operators): a template of ten thousand '('
    /// would overflow the stack, which kills the process, so it is refused while there is stack left.
    /// </summary>
    private void EnsureStack()
    {
        if (!System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Error("the template nests too deeply to parse");
    }

    private bool SkipOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        _pos++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        _pos++;
        return true;
    }

    private Token ExpectOp(string op) =>
        Current.IsOp(op) ? Next() : throw Error($"expected '{op}', got {Current}");

    private Token Expect(TokenKind kind, string what) =>
        Current.Kind == kind ? Next() : throw Error($"expected {what}, got {Current}");

    private string ExpectName() => Expect(TokenKind.Name, "a name").Value;

    // ---------------- statements ----------------

    private List<Node> SubParse(string[]? endTags)
    {
        EnsureStack();
        var body = new List<Node>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    if (endTags is not null) throw Error($"Unexpected end of template. Jinja was looking for one of: {string.Join(", ", endTags.Select(e => $"'{e}'"))}.");
                    return body;
                case TokenKind.Data:
                    body.Add(new TextNode(t.Line, t.Value));
                    _pos++;
                    break;
                case TokenKind.VariableBegin:
                    _pos++;
                    body.Add(new OutputNode(t.Line, ParseTuple(withCondExpr: true)));
                    Expect(TokenKind.VariableEnd, "end of print statement");
                    break;
                case TokenKind.BlockBegin:
                    _pos++;
                    if (endTags is not null && Current.Kind == TokenKind.Name && endTags.Contains(Current.Value)) return body;
                    body.Add(ParseStatement());
                    Expect(TokenKind.BlockEnd, "end of statement block");
                    break;
                default:
                    throw Error($"unexpected {t}");
            }
        }
    }

    /// <summary>Body of a block statement: the header's "%}", then nodes up to (not past) an end tag name.</summary>
    private List<Node> ParseStatements(string[] endTags, bool dropNeedle = false)
    {
        SkipOp(":");
        Expect(TokenKind.BlockEnd, "end of statement block");
        var body = SubParse(endTags);
        if (dropNeedle) _pos++;
        return body;
    }

    private Node ParseStatement()
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Error("tag name expected");
        switch (t.Value)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "call": return ParseCallBlock();
            case "filter":
                {
                    _pos++;
                    var filter = ParseFilter(null, startInline: true) as FilterExpr ?? throw Error("expected a filter");
                    return new FilterBlockNode(t.Line, filter, ParseStatements(["endfilter"], dropNeedle: true));
                }
            case "generation":
                _pos++;
                return new BodyNode(t.Line, ParseStatements(["endgeneration"], dropNeedle: true));
            case "break":
                _pos++;
                return new LoopControlNode(t.Line, Flow.Break);
            case "continue":
                _pos++;
                return new LoopControlNode(t.Line, Flow.Continue);
            default:
                throw Error($"Encountered unknown tag '{t.Value}'.");
        }
    }

    private Node ParseIf()
    {
        int line = Next().Line;
        var branches = new List<(Expr, List<Node>)>();
        List<Node> elseBody = [];
        while (true)
        {
            var test = ParseTuple(withCondExpr: false);
            var body = ParseStatements(["elif", "else", "endif"]);
            branches.Add((test, body));
            var end = Next();
            if (end.IsName("elif")) continue;
            if (end.IsName("else")) elseBody = ParseStatements(["endif"], dropNeedle: true);
            break;
        }
        return new IfNode(line, branches, elseBody);
    }

    private Node ParseFor()
    {
        int line = Next().Line;
        var target = ParseAssignTarget(["in"]);
        if (!SkipName("in")) throw Error($"expected 'in', got {Current}");
        var iterable = ParseTuple(withCondExpr: false, extraEnd: ["recursive"]);
        Expr? filter = SkipName("if") ? ParseExpression(true) : null;
        if (Current.IsName("recursive")) throw Error("recursive for loops are not supported");
        var body = ParseStatements(["endfor", "else"]);
        List<Node> elseBody = Next().IsName("endfor") ? [] : ParseStatements(["endfor"], dropNeedle: true);
        return new ForNode(line, target, iterable, filter, body, elseBody);
    }

    private Node ParseSet()
    {
        int line = Next().Line;
        Target target;
        if (Current.Kind == TokenKind.Name && Peek().IsOp("."))
        {
            var ns = Next();
            _pos++;
            target = new NamespaceTarget(ns.Line, ns.Value, ExpectName());
        }
        else target = ParseAssignTarget(null);
        if (SkipOp("=")) return new SetNode(line, target, ParseTuple(withCondExpr: true));
        var filter = ParseFilter(null, startInline: false) as FilterExpr;
        return new SetBlockNode(line, target, filter, ParseStatements(["endset"], dropNeedle: true));
    }

    private Node ParseMacro()
    {
        int line = Next().Line;
        string name = ExpectName();
        var signature = ParseSignature();
        return new MacroNode(line, name, signature, ParseStatements(["endmacro"], dropNeedle: true));
    }

    private Node ParseCallBlock()
    {
        int line = Next().Line;
        var signature = Current.IsOp("(") ? ParseSignature() : Signature.Empty;
        if (ParseExpression(true) is not CallExpr call) throw Error("expected call", _tokens[_pos]);
        return new CallBlockNode(line, call, signature, ParseStatements(["endcall"], dropNeedle: true));
    }

    private Signature ParseSignature()
    {
        ExpectOp("(");
        var names = new List<string>();
        var defaults = new List<Expr>();
        while (!Current.IsOp(")"))
        {
            if (names.Count > 0) ExpectOp(",");
            names.Add(ExpectName());
            if (SkipOp("=")) defaults.Add(ParseExpression(true));
            else if (defaults.Count > 0) throw Error("non-default argument follows default argument");
        }
        ExpectOp(")");
        return new Signature(names, defaults);
    }

    /// <summary>A name or (possibly parenthesised) tuple of names, as in <c>for k, v in ...</c>.</summary>
    private Target ParseAssignTarget(string[]? extraEnd)
    {
        var expr = ParseTuple(simplified: true, extraEnd: extraEnd);
        return ToTarget(expr);
    }

    private Target ToTarget(Expr expr) => expr switch
    {
        NameExpr n when n.Name is "true" or "false" or "none" or "True" or "False" or "None" => throw Error($"Can't assign to '{n.Name}'"),
        NameExpr n => new NameTarget(n.Line, n.Name),
        TupleExpr t => new TupleTarget(t.Line, t.Items.Select(ToTarget).ToList()),
        _ => throw Error($"can't assign to {expr.GetType().Name.Replace("Expr", "").ToLowerInvariant()}"),
    };

    // ---------------- expressions ----------------

    private bool IsTupleEnd(string[]? extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd || Current.IsOp(")")
        || (extraEnd is not null && Current.Kind == TokenKind.Name && extraEnd.Contains(Current.Value));

    private Expr ParseTuple(bool simplified = false, bool withCondExpr = true, string[]? extraEnd = null, bool explicitParens = false)
    {
        int line = Current.Line;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOp(",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(simplified ? ParsePrimary() : ParseExpression(withCondExpr));
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count > 0) return items[0];
            if (!explicitParens) throw Error($"Expected an expression, got {Current}");
        }
        return new TupleExpr(line, items);
    }

    private Expr ParseExpression(bool withCondExpr) => withCondExpr ? ParseCondExpr() : ParseOr();

    private Expr ParseCondExpr()
    {
        EnsureStack();
        int line = Current.Line;
        var expr = ParseOr();
        while (SkipName("if"))
        {
            var test = ParseOr();
            Expr? otherwise = SkipName("else") ? ParseCondExpr() : null;
            expr = new CondExpr(line, test, expr, otherwise);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            int line = Next().Line;
            left = new OrExpr(line, left, ParseAnd());
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            int line = Next().Line;
            left = new AndExpr(line, left, ParseNot());
        }
        return left;
    }

    private Expr ParseNot()
    {
        EnsureStack();
        if (Current.IsName("not"))
        {
            int line = Next().Line;
            return new NotExpr(line, ParseNot());
        }
        return ParseCompare();
    }

    private static readonly string[] CompareOps = ["==", "!=", "<", "<=", ">", ">="];

    private Expr ParseCompare()
    {
        int line = Current.Line;
        var first = ParseMath1();
        var ops = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && CompareOps.Contains(Current.Value))
            {
                string op = Next().Value;
                ops.Add((op, ParseMath1()));
            }
            else if (SkipName("in")) ops.Add(("in", ParseMath1()));
            else if (Current.IsName("not") && Peek().IsName("in"))
            {
                _pos += 2;
                ops.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return ops.Count == 0 ? first : new CompareExpr(line, first, ops);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.IsOp("+") || Current.IsOp("-"))
        {
            var op = Next();
            left = new BinaryExpr(op.Line, op.Value, left, ParseConcat());
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMath2();
        while (Current.IsOp("~"))
        {
            var op = Next();
            left = new BinaryExpr(op.Line, "~", left, ParseMath2());
        }
        return left;
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.IsOp("*") || Current.IsOp("/") || Current.IsOp("//") || Current.IsOp("%"))
        {
            var op = Next();
            left = new BinaryExpr(op.Line, op.Value, left, ParsePow());
        }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(true);
        while (Current.IsOp("**"))
        {
            var op = Next();
            var right = ParseUnary(true);
            // Jinja folds a constant base such as "-3" into a literal and emits "(-3 ** x)", which Python reads
            // as -(3 ** x). Reproduce that when the base is a negative constant and the exponent is not constant.
            if (TryConstant(left, out var b) && !TryConstant(right, out _) && Py.IsNumber(b) && Py.ToDouble(b) < 0)
                left = new NegExpr(op.Line, new BinaryExpr(op.Line, "**", new ConstExpr(op.Line, Py.Negate(b)), right), negate: true);
            else
                left = new BinaryExpr(op.Line, "**", left, right);
        }
        return left;
    }

    /// <summary>Evaluates literal-only arithmetic the way Jinja's optimizer folds it at compile time.</summary>
    private static bool TryConstant(Expr e, out object? value)
    {
        value = null;
        if (e is not (ConstExpr or NegExpr or BinaryExpr) || !IsConstantTree(e)) return false;
        try
        {
            value = e.Eval(null!);
            return true;
        }
        catch (TemplateException)
        {
            return false;
        }
    }

    // A constant chain too deep to walk is simply not folded; evaluating it later checks the stack itself.
    private static bool IsConstantTree(Expr e) => System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack() && e switch
    {
        ConstExpr => true,
        NegExpr n => IsConstantTree(n.Operand),
        BinaryExpr b => IsConstantTree(b.Left) && IsConstantTree(b.Right),
        _ => false,
    };

    private Expr ParseUnary(bool withFilter)
    {
        EnsureStack();
        Expr node;
        if (Current.IsOp("-") || Current.IsOp("+"))
        {
            var op = Next();
            node = new NegExpr(op.Line, ParseUnary(false), op.Value == "-");
        }
        else node = ParsePrimary();
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Expr ParsePrimary()
    {
        EnsureStack();
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _pos++;
                return t.Value switch
                {
                    "true" or "True" => new ConstExpr(t.Line, true),
                    "false" or "False" => new ConstExpr(t.Line, false),
                    "none" or "None" => new ConstExpr(t.Line, null),
                    _ => new NameExpr(t.Line, t.Value),
                };
            case TokenKind.String:
                {
                    _pos++;
                    string s = (string)t.Literal!;
                    while (Current.Kind == TokenKind.String) s += (string)Next().Literal!; // "a" "b" concatenates
                    return new ConstExpr(t.Line, s);
                }
            case TokenKind.Integer:
            case TokenKind.Float:
                _pos++;
                return new ConstExpr(t.Line, t.Literal);
            case TokenKind.Operator when t.Value == "(":
                {
                    _pos++;
                    var e = ParseTuple(explicitParens: true);
                    ExpectOp(")");
                    return e;
                }
            case TokenKind.Operator when t.Value == "[":
                {
                    _pos++;
                    var items = new List<Expr>();
                    while (!Current.IsOp("]"))
                    {
                        if (items.Count > 0) ExpectOp(",");
                        if (Current.IsOp("]")) break;
                        items.Add(ParseExpression(true));
                    }
                    ExpectOp("]");
                    return new ListExpr(t.Line, items);
                }
            case TokenKind.Operator when t.Value == "{":
                {
                    _pos++;
                    var pairs = new List<(Expr, Expr)>();
                    while (!Current.IsOp("}"))
                    {
                        if (pairs.Count > 0) ExpectOp(",");
                        if (Current.IsOp("}")) break;
                        var key = ParseExpression(true);
                        ExpectOp(":");
                        pairs.Add((key, ParseExpression(true)));
                    }
                    ExpectOp("}");
                    return new DictExpr(t.Line, pairs);
                }
            default:
                throw Error($"unexpected {t}");
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOp(".") || Current.IsOp("[")) node = ParseSubscript(node);
            else if (Current.IsOp("(")) node = new CallExpr(Current.Line, node, ParseCallArgs());
            else return node;
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|")) node = ParseFilter(node, startInline: false)!;
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOp("(")) node = new CallExpr(Current.Line, node, ParseCallArgs());
            else return node;
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var t = Next();
        if (t.IsOp("."))
        {
            var attr = Next();
            if (attr.Kind == TokenKind.Name) return new GetAttrExpr(t.Line, node, attr.Value);
            if (attr.Kind == TokenKind.Integer) return new GetItemExpr(t.Line, node, new ConstExpr(attr.Line, attr.Literal));
            throw Error("expected name or number", attr);
        }
        var args = new List<Expr>();
        Expr? slice = null;
        while (!Current.IsOp("]"))
        {
            if (args.Count > 0 || slice is not null) ExpectOp(",");
            var sub = ParseSubscribed(node, out bool isSlice);
            if (isSlice) slice = sub;
            else args.Add(sub);
        }
        ExpectOp("]");
        if (slice is not null)
        {
            if (args.Count > 0) throw Error("tuple subscripts with slices are not supported", t);
            return slice;
        }
        if (args.Count == 0) throw Error("expected an expression", t);
        return new GetItemExpr(t.Line, node, args.Count == 1 ? args[0] : new TupleExpr(t.Line, args));
    }

    private Expr ParseSubscribed(Expr target, out bool isSlice)
    {
        int line = Current.Line;
        Expr? start = null;
        isSlice = false;
        if (!Current.IsOp(":"))
        {
            start = ParseExpression(true);
            if (!Current.IsOp(":")) return start;
        }
        _pos++; // ':'
        isSlice = true;
        Expr? stop = null, step = null;
        if (!Current.IsOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) stop = ParseExpression(true);
        if (SkipOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) step = ParseExpression(true);
        return new SliceExpr(line, target, start, stop, step);
    }

    private ArgList ParseCallArgs()
    {
        ExpectOp("(");
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        bool needComma = false;
        while (!Current.IsOp(")"))
        {
            if (needComma)
            {
                ExpectOp(",");
                if (Current.IsOp(")")) break;
            }
            if (Current.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                string key = Next().Value;
                _pos++;
                named.Add((key, ParseExpression(true)));
            }
            else
            {
                if (named.Count > 0) throw Error("positional argument follows keyword argument");
                positional.Add(ParseExpression(true));
            }
            needComma = true;
        }
        ExpectOp(")");
        return new ArgList(positional, named);
    }

    private Expr? ParseFilter(Expr? node, bool startInline)
    {
        while (Current.IsOp("|") || startInline)
        {
            if (!startInline) _pos++;
            var nameToken = Expect(TokenKind.Name, "a filter name");
            string name = nameToken.Value;
            while (SkipOp(".")) name += "." + ExpectName();
            var args = Current.IsOp("(") ? ParseCallArgs() : ArgList.None;
            node = new FilterExpr(nameToken.Line, node, name, args);
            startInline = false;
        }
        return node;
    }

    private static readonly HashSet<string> TestArgStarts = ["(", "[", "{"];

    private Expr ParseTest(Expr node)
    {
        var isToken = Next();
        bool negated = SkipName("not");
        string name = ExpectName();
        while (SkipOp(".")) name += "." + ExpectName();
        ArgList args;
        if (Current.IsOp("(")) args = ParseCallArgs();
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || (Current.Kind == TokenKind.Operator && TestArgStarts.Contains(Current.Value)))
                 && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and"))
        {
            if (Current.IsName("is")) throw Error("You cannot chain multiple tests with is");
            args = new ArgList([ParsePostfix(ParsePrimary())], []);
        }
        else args = ArgList.None;
        Expr test = new TestExpr(isToken.Line, node, name, args);
        return negated ? new NotExpr(isToken.Line, test) : test;
    }
}
