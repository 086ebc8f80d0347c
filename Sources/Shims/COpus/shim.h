#ifndef CANOPY_COPUS_SHIM_H
#define CANOPY_COPUS_SHIM_H
/*
 * opus_encoder_ctl / opus_decoder_ctl are C variadic functions and their request
 * codes are macros, neither of which Swift can call or import. Each wrapper below
 * fixes one request to a typed, non-variadic signature. They return the libopus
 * error code (OPUS_OK == 0).
 */
#include <opus/opus.h>

static inline int canopy_opus_set_bitrate(OpusEncoder *enc, opus_int32 bps) {
    return opus_encoder_ctl(enc, OPUS_SET_BITRATE(bps));
}
static inline int canopy_opus_get_bitrate(OpusEncoder *enc, opus_int32 *bps) {
    return opus_encoder_ctl(enc, OPUS_GET_BITRATE(bps));
}
static inline int canopy_opus_set_inband_fec(OpusEncoder *enc, opus_int32 on) {
    return opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(on));
}
static inline int canopy_opus_set_packet_loss_perc(OpusEncoder *enc, opus_int32 perc) {
    return opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(perc));
}
static inline int canopy_opus_set_complexity(OpusEncoder *enc, opus_int32 complexity) {
    return opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(complexity));
}
static inline int canopy_opus_set_signal_music(OpusEncoder *enc) {
    return opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_MUSIC));
}
static inline int canopy_opus_set_signal_voice(OpusEncoder *enc) {
    return opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}
static inline int canopy_opus_set_vbr(OpusEncoder *enc, opus_int32 on) {
    return opus_encoder_ctl(enc, OPUS_SET_VBR(on));
}
static inline int canopy_opus_set_dtx(OpusEncoder *enc, opus_int32 on) {
    return opus_encoder_ctl(enc, OPUS_SET_DTX(on));
}
/* Encoder lookahead in samples at 48 kHz: the Ogg Opus pre-skip. */
static inline int canopy_opus_get_lookahead(OpusEncoder *enc, opus_int32 *samples) {
    return opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(samples));
}
static inline int canopy_opus_encoder_reset(OpusEncoder *enc) {
    return opus_encoder_ctl(enc, OPUS_RESET_STATE);
}
static inline int canopy_opus_decoder_reset(OpusDecoder *dec) {
    return opus_decoder_ctl(dec, OPUS_RESET_STATE);
}
/* Duration of the last decoded packet, in samples per channel. */
static inline int canopy_opus_decoder_get_last_packet_duration(OpusDecoder *dec, opus_int32 *samples) {
    return opus_decoder_ctl(dec, OPUS_GET_LAST_PACKET_DURATION(samples));
}
static inline int canopy_opus_decoder_set_gain(OpusDecoder *dec, opus_int32 q8db) {
    return opus_decoder_ctl(dec, OPUS_SET_GAIN(q8db));
}
#endif
