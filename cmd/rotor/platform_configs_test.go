package main

import (
	"encoding/xml"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The launchd plist is a well-formed property list whose program is a
// rotor agent command with flags rotor has, kept alive and logged.
func TestLaunchdPlist(t *testing.T) {
	b, err := os.ReadFile("../../configs/macos/com.rotorproject.rotor.plist")
	if err != nil {
		t.Fatal(err)
	}
	keys, args := plistKeys(t, b)
	for _, k := range []string{"Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "UserName", "StandardOutPath", "StandardErrorPath"} {
		if !keys[k] {
			t.Errorf("the plist has no %s", k)
		}
	}
	if len(args) < 2 || args[0] != "/usr/local/bin/rotor" || args[1] != "agent" {
		t.Fatalf("ProgramArguments %q: want /usr/local/bin/rotor agent ...", args)
	}
	checkAgentFlags(t, args[2:])
}

// The Windows service's command line (install-service.ps1, both the
// New-Service and the sc.exe form) runs rotor agent with flags rotor has.
func TestWindowsServiceCommandLine(t *testing.T) {
	b, err := os.ReadFile("../../configs/windows/install-service.ps1")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"New-Service -Name rotor", "sc.exe create rotor binPath= ", "sc.exe failure rotor"} {
		if !strings.Contains(s, want) {
			t.Errorf("install-service.ps1 lacks %q", want)
		}
	}
	m := regexp.MustCompile(`binPath= "C:\\rotor\\rotor\.exe agent ([^"]*)"`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("no sc.exe binPath running rotor.exe agent")
	}
	checkAgentFlags(t, strings.Fields(m[1]))
	ns := regexp.MustCompile("-BinaryPathName \"`\"\\$dir\\\\rotor.exe`\" agent (.*)\" `").FindStringSubmatch(s)
	if ns == nil {
		t.Fatal("no New-Service -BinaryPathName running rotor.exe agent")
	}
	checkAgentFlags(t, strings.Fields(strings.ReplaceAll(ns[1], "`\"", "")))
}

// checkAgentFlags parses args with rotor agent's flags.
func checkAgentFlags(t *testing.T, args []string) {
	t.Helper()
	fs := flag.NewFlagSet("rotor agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := commonFlags(fs)
	fs.Bool("once", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || len(c.configs) == 0 {
		t.Errorf("rotor agent %q: %v (left over %q)", args, err, fs.Args())
	}
}

// plistKeys returns the top-level dict's keys of a property list and the
// strings of its ProgramArguments array.
func plistKeys(t *testing.T, b []byte) (map[string]bool, []string) {
	t.Helper()
	type array struct {
		Strings []string `xml:"string"`
	}
	type dict struct {
		Keys   []string `xml:"key"`
		Arrays []array  `xml:"array"`
	}
	var p struct {
		XMLName xml.Name `xml:"plist"`
		Dict    dict     `xml:"dict"`
	}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	d.Strict = true
	if err := d.Decode(&p); err != nil {
		t.Fatalf("the plist is not well-formed XML: %v", err)
	}
	keys := map[string]bool{}
	for _, k := range p.Dict.Keys {
		if keys[k] {
			t.Errorf("key %s twice", k)
		}
		keys[k] = true
	}
	if len(p.Dict.Arrays) != 1 {
		t.Fatalf("want one array (ProgramArguments), found %d", len(p.Dict.Arrays))
	}
	return keys, p.Dict.Arrays[0].Strings
}
