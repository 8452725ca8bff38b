package ops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Error classes the local API reports instead of error text. Error text
// can carry a secret that redaction missed (a password echoed in a Vault
// error, a value printed by a template function); a class cannot. The
// full text stays in rotor's log.
const (
	// ClassNotRendered: the template has not rendered yet and has not failed.
	ClassNotRendered = "not_rendered"
	// ClassNotAuthenticated: rotor holds no valid Vault token yet.
	ClassNotAuthenticated = "not_authenticated"
	// ClassTemplate: the template failed to parse or execute.
	ClassTemplate = "template_error"
	// ClassVaultDenied: Vault answered 401/403 (policy or token).
	ClassVaultDenied = "vault_denied"
	// ClassSecretNotFound: Vault has nothing at the path (404).
	ClassSecretNotFound = "secret_not_found"
	// ClassVaultUnavailable: Vault could not be reached or answered 429/5xx.
	ClassVaultUnavailable = "vault_unavailable"
	// ClassPublishFailed: rendered, but not written (file error, or a
	// certificate/key check refused the output).
	ClassPublishFailed = "publish_failed"
	// ClassCommandFailed: the reload command failed or timed out.
	ClassCommandFailed = "command_failed"
	// ClassUnknown: anything the classifier does not recognise. It carries
	// no detail at all.
	ClassUnknown = "error"
)

// ErrorInfo describes a failure without its text: a class and, for
// template errors, where in the template it happened. Line, Col and
// Function are filled only when the error text states them in the form
// text/template uses, and Function only with a known function name.
type ErrorInfo struct {
	Class    string `json:"class"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Function string `json:"function,omitempty"`
}

// String is the short human form used by `rotor status`, e.g.
// "template_error at 3:14 in secret".
func (e ErrorInfo) String() string {
	s := e.Class
	switch {
	case e.Line > 0 && e.Col > 0:
		s += fmt.Sprintf(" at %d:%d", e.Line, e.Col)
	case e.Line > 0:
		s += fmt.Sprintf(" at line %d", e.Line)
	}
	if e.Function != "" {
		s += " in " + e.Function
	}
	return s
}

var (
	// text/template's execution error: `template: NAME:3:14: executing "NAME" at <secret "x">: ...`.
	execPos = regexp.MustCompile(`:(\d{1,6}):(\d{1,6}): executing "`)
	// text/template's parse error: `template: NAME:3: unexpected ...`.
	parsePos = regexp.MustCompile(`^template: [^\n]*?:(\d{1,6}): `)
	// The function that failed: `error calling secret: ...` or `at <secret ...>`.
	calling = regexp.MustCompile(`error calling ([A-Za-z_][A-Za-z0-9_]{0,40}):`)
	atFunc  = regexp.MustCompile(`at <([A-Za-z_][A-Za-z0-9_]{0,40})[ >]`)
	// An HTTP status in the Vault API client's error text: "Code: 403.".
	vaultCode = regexp.MustCompile(`\bcode: (\d{3})\b`)
)

// classifyError maps an error's text to an ErrorInfo. It is conservative:
// it only looks for fixed markers and copies nothing of the text but
// small integers and allow-listed function names, and anything it does
// not recognise is ClassUnknown with no detail.
func classifyError(text string) *ErrorInfo {
	if text == "" {
		return nil
	}
	lower := strings.ToLower(text)
	info := &ErrorInfo{Class: ClassUnknown}
	code := 0
	if m := vaultCode.FindStringSubmatch(lower); m != nil {
		code, _ = strconv.Atoi(m[1])
	}
	// Order matters: a publish failure wraps a certificate check error;
	// a template error wraps the Vault error of the function it called,
	// and the Vault error is what an operator acts on.
	switch {
	case strings.Contains(lower, "not published, previous files kept") || hasAnyPrefix(text, publishPrefixes):
		info.Class = ClassPublishFailed
	case code == 401 || code == 403:
		// Only Vault's own answer: "permission denied" alone is also what
		// the OS says about a file.
		info.Class = ClassVaultDenied
	case code == 404 || strings.Contains(lower, "no secret at this path"):
		info.Class = ClassSecretNotFound
	case code == 429 || code >= 500 || containsAny(lower, unavailableMarkers):
		info.Class = ClassVaultUnavailable
	case strings.Contains(lower, "no vault token yet"):
		info.Class = ClassNotAuthenticated
	case containsAny(text, templateMarkers) || parsePos.MatchString(text):
		info.Class = ClassTemplate
	}
	if info.Class == ClassUnknown {
		return info // no detail for what is not understood
	}
	if m := execPos.FindStringSubmatch(text); m != nil {
		info.Line, _ = strconv.Atoi(m[1])
		info.Col, _ = strconv.Atoi(m[2])
	} else if m := parsePos.FindStringSubmatch(text); m != nil {
		info.Line, _ = strconv.Atoi(m[1])
	}
	for _, re := range []*regexp.Regexp{calling, atFunc} {
		if m := re.FindStringSubmatch(text); m != nil && knownFunction(m[1]) {
			info.Function = m[1]
			break
		}
	}
	return info
}

// unavailableMarkers are transport failures of a request to Vault.
var unavailableMarkers = []string{
	"connection refused", "no such host", "i/o timeout", "deadline exceeded", "connection reset",
	"vault is sealed", "broken pipe", "network is unreachable", "no route to host", "server misbehaving",
	"tls handshake", "x509: ",
}

// templateMarkers are text/template and rotor template failures.
var templateMarkers = []string{
	`: executing "`, "error calling ", "map has no entry for key", "can't evaluate field", "not defined",
	"secrets still missing after", "outside sandbox_path", "reads Consul or Nomad",
}

// publishPrefixes start the errors of writing a template's destination
// (internal/atomicfile).
var publishPrefixes = []string{"write ", "create directory ", "backup "}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// knownFunction reports whether name is a function of rotor's template
// language. Only such names are echoed: the text around "error calling"
// is otherwise free-form and could, in theory, hold a secret.
func knownFunction(name string) bool {
	if strings.HasPrefix(name, "sprig_") {
		return true // consul-template's sprig namespace
	}
	_, ok := templateFunctions[name]
	return ok
}

// templateFunctions are consul-template v0.41's functions (rotor serves
// or refuses each) and text/template's builtins.
var templateFunctions = setOf(
	// Vault, files and environment.
	"secret", "secrets", "pkiCert", "file", "env", "mustEnv", "envOrDefault", "writeToFile", "plugin",
	// Consul and Nomad (refused by rotor, but named in its errors).
	"datacenters", "exportedServices", "key", "keyExists", "keyOrDefault", "ls", "safeLs", "node", "nodes",
	"partitions", "peerings", "service", "connect", "services", "tree", "safeTree", "caRoots", "caLeaf",
	"nomadServices", "nomadService", "nomadVarList", "nomadVarListSafe", "nomadVar", "nomadVarExists",
	// Helpers.
	"scratch", "base64Decode", "base64Encode", "base64URLDecode", "base64URLEncode", "byKey", "byPort", "byTag",
	"contains", "containsAll", "containsAny", "containsNone", "containsNotAll", "executeTemplate", "explode",
	"explodeMap", "mergeMap", "mergeMapWithOverride", "in", "indent", "loop", "join", "trim", "trimPrefix",
	"trimSuffix", "trimSpace", "parseBool", "parseFloat", "parseInt", "parseJSON", "parseUint", "parseYAML",
	"regexReplaceAll", "regexMatch", "replaceAll", "sha256Hex", "md5sum", "hmacSHA256Hex", "timestamp", "toLower",
	"toJSON", "toJSONPretty", "toUnescapedJSON", "toUnescapedJSONPretty", "toTitle", "toTOML", "toUpper", "toYAML",
	"split", "splitToMap", "byMeta", "sockaddr", "add", "subtract", "multiply", "divide", "modulo", "minimum",
	"maximum", "spew_dump", "spew_printf", "spew_sdump", "spew_sprintf",
	// text/template builtins.
	"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery",
	"eq", "ge", "gt", "le", "lt", "ne",
)

func setOf(names ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}
