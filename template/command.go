package template

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/redact"
)

// A command's output is captured in a bounded head and tail: enough to
// see what it said, never unbounded memory for a command that prints
// forever.
const (
	outputHead = 16 << 10
	outputTail = 16 << 10
	// logLines is how much of a failed command's output reaches the log:
	// its last lines, after redaction.
	logLines     = 20
	logLineBytes = 4 << 10
)

type cmdResult struct {
	exitCode int
	output   string // redacted, head and tail
	duration time.Duration
	err      error
}

// runCommand runs c with env as its whole environment and a timeout; on
// timeout it is killed with every process it started (runGroup: a
// process group on Unix, a Job Object on Windows). The output is redacted with
// secrets before anything else is done with it, so that trimming or
// cutting it can never leave part of a secret in the clear.
func runCommand(ctx context.Context, c command.Command, timeout time.Duration, env []string, secrets *redact.Set) cmdResult {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := c.Exec(ctx)
	cmd.Env = env
	out := &headTail{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := runGroup(cmd)
	res := cmdResult{duration: time.Since(start), err: err}
	if ctx.Err() == context.DeadlineExceeded {
		res.err = errors.New("timed out after " + timeout.String())
	}
	if cmd.ProcessState != nil {
		res.exitCode = cmd.ProcessState.ExitCode()
	}
	res.output = out.redacted(secrets)
	return res
}

// headTail keeps the first outputHead and the last outputTail bytes
// written to it, and counts what it dropped in between.
type headTail struct {
	head, tail []byte
	dropped    int64
}

func (h *headTail) Write(p []byte) (int, error) {
	n := len(p)
	if room := outputHead - len(h.head); room > 0 {
		k := min(room, len(p))
		h.head = append(h.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	h.tail = append(h.tail, p...)
	if over := len(h.tail) - outputTail; over > 0 {
		h.dropped += int64(over)
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
	return n, nil
}

// redacted returns the captured output with secrets hidden. When nothing
// was dropped, head and tail are one stream and are redacted joined (a
// secret may straddle them); otherwise each part is redacted on its own.
func (h *headTail) redacted(secrets *redact.Set) string {
	if h.dropped == 0 {
		return secrets.Redact(string(h.head) + string(h.tail))
	}
	return secrets.Redact(string(h.head)) + "\n...(" + strconv.FormatInt(h.dropped, 10) + " bytes not kept)...\n" +
		secrets.Redact(string(h.tail))
}

// lastLines returns the end of already redacted output, for a log line.
func lastLines(s string) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > logLines {
		lines = lines[len(lines)-logLines:]
	}
	s = strings.Join(lines, "\n")
	if len(s) > logLineBytes {
		s = "..." + s[len(s)-logLineBytes:]
	}
	return s
}
