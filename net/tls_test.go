package net_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"testing"
	"time"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "weft test"},
		DNSNames:     []string{"weft.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSOverNetConn runs crypto/tls on both ends of a weft stream pair.
func TestTLSOverNetConn(t *testing.T) {
	rt := newRuntime(t)
	ln := listen(t, rt)
	c, s := pair(t, rt, ln)
	cert := selfSigned(t)
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)

	srv := tls.Server(s.NetConn(), &tls.Config{Certificates: []tls.Certificate{cert}})
	cli := tls.Client(c.NetConn(), &tls.Config{RootCAs: pool, ServerName: "weft.test"})
	defer srv.Close()
	defer cli.Close()
	srv.SetDeadline(time.Now().Add(20 * time.Second))
	cli.SetDeadline(time.Now().Add(20 * time.Second))

	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(srv, io.LimitReader(srv, 1<<20)) // echo 1 MiB back
		done <- err
	}()
	msg := make([]byte, 1<<20)
	rand.Read(msg)
	go cli.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(msg) {
		t.Fatal("TLS echo differs")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
