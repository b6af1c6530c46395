package main

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/ums-project/ums/bootstrap"
)

func keys(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "rotate" {
		return fmt.Errorf("usage: ums keys rotate")
	}
	cfg, log, err := configAndLogger()
	if err != nil {
		return err
	}
	key, rsaKey, err := bootstrap.RotateAllKeys(ctx, cfg, log.WithOptions(zap.IncreaseLevel(zap.WarnLevel)))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new active signing key kid=%s (EdDSA, API tokens) and kid=%s (RS256, OpenID Connect); "+
		"earlier keys stay in the JWKS until their tokens expire\n", key.KID, rsaKey.KID)
	return nil
}
