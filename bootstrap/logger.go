package bootstrap

import (
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"
)

// NewLogger builds the process logger: console lines in development, JSON in
// production, at LOG_LEVEL; with LOG_FILE also written to a rotated file.
func NewLogger(c Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.LogLevel)
	if err != nil {
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if c.LogFormat == "json" {
		enc = zapcore.NewJSONEncoder(encCfg)
	} else {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	cores := []zapcore.Core{zapcore.NewCore(enc, zapcore.Lock(os.Stderr), level)}
	if c.LogFile != "" {
		// Files always get JSON: they are read by machines, not terminals.
		rotated := &lumberjack.Logger{
			Filename: c.LogFile, MaxSize: c.LogFileMaxSizeMB, MaxBackups: c.LogFileMaxBackups,
			MaxAge: c.LogFileMaxAgeDays, Compress: true,
		}
		fileEnc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		cores = append(cores, zapcore.NewCore(fileEnc, zapcore.AddSync(rotated), level))
	}
	return zap.New(zapcore.NewTee(cores...), zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)).
		With(zap.String("service", "ums")), nil
}
