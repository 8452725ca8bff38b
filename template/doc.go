// Package template renders files from consul-template's template language
// with secrets served by rotor's lease scheduler, writes them atomically
// and runs reload commands. (Being built; see the templates issue.)
package template
