// Command scfinterop checks scf-recon's ledger artefacts with independent code: Go's
// golang.org/x/mod/sumdb/note (signed notes) and golang.org/x/mod/sumdb/tlog (RFC 6962 /
// RFC 9162 trees and proofs), as Debian ships them (golang-golang-x-mod-dev 0.7.0, built in
// GOPATH mode, offline).  x/mod 0.7 predates c2sp.org/tlog-cosignature, so the v1 cosigner
// (key type 0x04) is written here from the spec, against note's Signer/Verifier interfaces.
//
// Subcommands (input on stdin, output on stdout, failures on stderr with exit status 1):
//
//	open    -origin O -log VKEY [-witness VKEY]... [-quorum N]   note  -> JSON {size, root, signers, times}
//	cosign  -origin O -log VKEY -name N -seed HEX -time T         note  -> note with a v1 cosignature added
//	vkey    -name N -seed HEX                                     -     -> the v1 (0x04) verifier key
//	tree    JSON {entries, inclusion:[[index,size]], consistency:[[old,size]]} -> JSON roots and proofs
//	check   the JSON printed by `scf ledger prove`                         -> "ok" if every proof verifies
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const algCosignatureV1 = 0x04

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "scfinterop: "+format+"\n", args...)
	os.Exit(1)
}

func stdin() []byte {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("read stdin: %v", err)
	}
	return data
}

func cosignKeyHash(name string, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func cosignedMessage(msg []byte, t uint64) []byte {
	return append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
}

// cosigV1Verifier checks a c2sp.org/tlog-cosignature v1 Ed25519 cosignature.
type cosigV1Verifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosigV1Verifier) Name() string    { return v.name }
func (v *cosigV1Verifier) KeyHash() uint32 { return v.hash }
func (v *cosigV1Verifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(msg, t), sig[8:])
}

// cosigV1Signer makes c2sp.org/tlog-cosignature v1 Ed25519 cosignatures at a fixed time.
type cosigV1Signer struct {
	name string
	key  ed25519.PrivateKey
	time uint64
}

func (s *cosigV1Signer) Name() string { return s.name }
func (s *cosigV1Signer) KeyHash() uint32 {
	return cosignKeyHash(s.name, s.key.Public().(ed25519.PublicKey))
}
func (s *cosigV1Signer) Sign(msg []byte) ([]byte, error) {
	out := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(out, s.time)
	return append(out, ed25519.Sign(s.key, cosignedMessage(msg, s.time))...), nil
}

// newVerifier reads a vkey: type 0x01 through x/mod's own note.NewVerifier, 0x04 here.
func newVerifier(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed verifier key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) == 0 {
		return nil, errors.New("malformed verifier key")
	}
	if raw[0] != algCosignatureV1 {
		return note.NewVerifier(vkey)
	}
	if len(raw) != 1+ed25519.PublicKeySize {
		return nil, errors.New("malformed cosignature v1 key")
	}
	hash, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || uint32(hash) != cosignKeyHash(parts[0], raw[1:]) {
		return nil, errors.New("verifier key hash does not match")
	}
	return &cosigV1Verifier{parts[0], uint32(hash), ed25519.PublicKey(raw[1:])}, nil
}

type checkpoint struct {
	Origin string    `json:"origin"`
	Size   int64     `json:"size"`
	Root   tlog.Hash `json:"root"`
}

func parseCheckpoint(text string) (checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("checkpoint has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, errors.New("bad tree size")
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, errors.New("bad root hash")
	}
	return checkpoint{lines[0], size, root}, nil
}

func openNote(msg []byte, origin, logKey string, witnesses []string) (*note.Note, checkpoint, []note.Verifier) {
	log, err := newVerifier(logKey)
	if err != nil {
		fail("log key: %v", err)
	}
	known := []note.Verifier{log}
	for _, w := range witnesses {
		v, err := newVerifier(w)
		if err != nil {
			fail("witness key: %v", err)
		}
		known = append(known, v)
	}
	n, err := note.Open(msg, note.VerifierList(known...))
	if err != nil {
		fail("note.Open: %v", err)
	}
	logSigned := false
	for _, s := range n.Sigs {
		logSigned = logSigned || (s.Name == log.Name() && s.Hash == log.KeyHash())
	}
	if !logSigned {
		fail("not signed by the log key")
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		fail("%v", err)
	}
	if cp.Origin != origin {
		fail("origin %q is not %q", cp.Origin, origin)
	}
	return n, cp, known
}

func cmdOpen(args []string) {
	fs := flag.NewFlagSet("open", flag.ExitOnError)
	origin, logKey, quorum := fs.String("origin", "", ""), fs.String("log", "", ""), fs.Int("quorum", 0, "")
	var witnesses multi
	fs.Var(&witnesses, "witness", "")
	fs.Parse(args)
	n, cp, known := openNote(stdin(), *origin, *logKey, witnesses)
	out := struct {
		checkpoint
		Signers []string          `json:"signers"`
		Times   map[string]uint64 `json:"times"`
	}{cp, []string{}, map[string]uint64{}}
	cosigners := 0
	for _, s := range n.Sigs {
		out.Signers = append(out.Signers, s.Name)
		for _, v := range known[1:] {
			if v.Name() == s.Name && v.KeyHash() == s.Hash {
				cosigners++
				if _, ok := v.(*cosigV1Verifier); ok {
					raw, _ := base64.StdEncoding.DecodeString(s.Base64)
					out.Times[s.Name] = binary.BigEndian.Uint64(raw[4:12])
				}
			}
		}
	}
	if cosigners < *quorum {
		fail("%d cosignatures, %d required", cosigners, *quorum)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func cosigner(name, seedHex string, t uint64) *cosigV1Signer {
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		fail("seed must be 32 bytes of hex")
	}
	return &cosigV1Signer{name, ed25519.NewKeyFromSeed(seed), t}
}

func cmdCosign(args []string) {
	fs := flag.NewFlagSet("cosign", flag.ExitOnError)
	origin, logKey := fs.String("origin", "", ""), fs.String("log", "", "")
	name, seed, t := fs.String("name", "", ""), fs.String("seed", "", ""), fs.Uint64("time", 0, "")
	fs.Parse(args)
	msg := stdin()
	n, _, _ := openNote(msg, *origin, *logKey, nil)
	n.Sigs = append(n.Sigs, n.UnverifiedSigs...) // keep every signature already there
	signed, err := note.Sign(n, cosigner(*name, *seed, *t))
	if err != nil {
		fail("note.Sign: %v", err)
	}
	os.Stdout.Write(signed)
}

func cmdVkey(args []string) {
	fs := flag.NewFlagSet("vkey", flag.ExitOnError)
	name, seed := fs.String("name", "", ""), fs.String("seed", "", "")
	fs.Parse(args)
	s := cosigner(*name, *seed, 0)
	pub := s.key.Public().(ed25519.PublicKey)
	fmt.Printf("%s+%08x+%s\n", s.name, s.KeyHash(), base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

// hashes is an in-memory tlog.HashReader over the stored hashes of a tree.
type hashes []tlog.Hash

func (h hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(h)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = h[x]
	}
	return out, nil
}

func cmdTree() {
	var in struct {
		Entries     [][]byte   `json:"entries"`
		Inclusion   [][2]int64 `json:"inclusion"`
		Consistency [][2]int64 `json:"consistency"`
	}
	if err := json.Unmarshal(stdin(), &in); err != nil {
		fail("tree input: %v", err)
	}
	var stored hashes
	roots := map[string]tlog.Hash{}
	for i, e := range in.Entries {
		more, err := tlog.StoredHashes(int64(i), e, stored)
		if err != nil {
			fail("StoredHashes: %v", err)
		}
		stored = append(stored, more...)
		root, err := tlog.TreeHash(int64(i+1), stored)
		if err != nil {
			fail("TreeHash: %v", err)
		}
		roots[strconv.Itoa(i+1)] = root
	}
	out := struct {
		Roots       map[string]tlog.Hash `json:"roots"`
		Inclusion   []tlog.RecordProof   `json:"inclusion"`
		Consistency []tlog.TreeProof     `json:"consistency"`
	}{roots, []tlog.RecordProof{}, []tlog.TreeProof{}}
	for _, q := range in.Inclusion {
		p, err := tlog.ProveRecord(q[1], q[0], stored)
		if err != nil {
			fail("ProveRecord: %v", err)
		}
		out.Inclusion = append(out.Inclusion, p)
	}
	for _, q := range in.Consistency {
		p, err := tlog.ProveTree(q[1], q[0], stored)
		if err != nil {
			fail("ProveTree(%d, %d): %v", q[1], q[0], err)
		}
		out.Consistency = append(out.Consistency, p)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func cmdCheck() {
	var in struct {
		TreeSize  int64     `json:"tree_size"`
		Root      tlog.Hash `json:"root"`
		Inclusion []struct {
			Seq      int64       `json:"seq"`
			Entry    []byte      `json:"entry"`
			LeafHash tlog.Hash   `json:"leaf_hash"`
			Proof    []tlog.Hash `json:"proof"`
		} `json:"inclusion"`
		Consistency *struct {
			OldSize int64       `json:"old_size"`
			OldRoot tlog.Hash   `json:"old_root"`
			Proof   []tlog.Hash `json:"proof"`
		} `json:"consistency"`
	}
	if err := json.Unmarshal(stdin(), &in); err != nil {
		fail("proof input: %v", err)
	}
	for _, p := range in.Inclusion {
		if tlog.RecordHash(p.Entry) != p.LeafHash {
			fail("entry %d: leaf hash is not RecordHash(entry)", p.Seq)
		}
		if err := tlog.CheckRecord(p.Proof, in.TreeSize, in.Root, p.Seq, p.LeafHash); err != nil {
			fail("entry %d: CheckRecord: %v", p.Seq, err)
		}
	}
	if c := in.Consistency; c != nil {
		if err := tlog.CheckTree(c.Proof, in.TreeSize, in.Root, c.OldSize, c.OldRoot); err != nil {
			fail("CheckTree(%d -> %d): %v", c.OldSize, in.TreeSize, err)
		}
	}
	fmt.Println("ok")
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: scfinterop open|cosign|vkey|tree|check [flags] < input")
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "open":
		cmdOpen(args)
	case "cosign":
		cmdCosign(args)
	case "vkey":
		cmdVkey(args)
	case "tree":
		cmdTree()
	case "check":
		cmdCheck()
	default:
		fail("unknown subcommand %q", cmd)
	}
}
