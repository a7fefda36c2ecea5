/*
 * gst-run: run one GStreamer pipeline in its own process, optionally seeking first,
 * and carry raw frames with their timestamps over stdin/stdout.
 *
 * Why not gst-launch-1.0: an export must start and stop inside a recording segment,
 * which needs a seek, and gst-launch cannot seek (and gdppay does not pass seeks or
 * flushes). Running each pipeline in a child process keeps a crashing or hanging
 * (hardware) plugin away from the daemon; the parent watches output and exit status.
 *
 * Usage: gst-run [--start NS] [--stop NS] PIPELINE-DESCRIPTION...
 *   An appsink named "out" in the pipeline: its samples are written to stdout.
 *   An appsrc named "in": records read from stdin are pushed into it; EOF ends the stream.
 *
 * Record framing (all integers little-endian), the same in both directions:
 *   'C' u32 len, caps string (len bytes, no NUL)         caps for the buffers that follow
 *   'B' i64 pts_ns (stream time on output; -1: none), i64 duration_ns (-1: none), u32 len, payload
 *
 * Exit: 0 on EOS; 2 on a pipeline error (stderr line "gst-run: error: ..."); 3 on bad
 * usage or a pipeline that cannot be built.
 */
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>

static void report_error(GstMessage *msg) {
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fprintf(stderr, "gst-run: error: %s: %s\n", GST_OBJECT_NAME(msg->src), err ? err->message : "unknown");
  if (dbg) fprintf(stderr, "gst-run: debug: %s\n", dbg);
  fflush(stderr);
  g_clear_error(&err);
  g_free(dbg);
}

static gboolean write_all(const void *p, size_t n) {
  return fwrite(p, 1, n, stdout) == n;
}

/* appsink callback, on the streaming thread: one record per sample. */
static GstFlowReturn on_sample(GstAppSink *sink, gpointer user) {
  GstCaps **last_caps = user;
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstCaps *caps = gst_sample_get_caps(sample);
  GstBuffer *buf = gst_sample_get_buffer(sample);
  gboolean ok = TRUE;
  if (caps && (!*last_caps || !gst_caps_is_equal(caps, *last_caps))) {
    gchar *s = gst_caps_to_string(caps);
    uint32_t len = (uint32_t)strlen(s);
    ok = write_all("C", 1) && write_all(&len, 4) && write_all(s, len);
    g_free(s);
    gst_caps_replace(last_caps, caps);
  }
  if (ok && buf) {
    GstMapInfo map;
    if (!gst_buffer_map(buf, &map, GST_MAP_READ)) ok = FALSE;
    else {
      /* Stream time, not raw PTS: the position in the media, the same scale seeks use,
       * whatever clock the container started from (MPEG-TS rarely starts at 0). */
      GstSegment *seg = gst_sample_get_segment(sample);
      int64_t pts = -1;
      if (GST_BUFFER_PTS_IS_VALID(buf)) {
        guint64 st = seg ? gst_segment_to_stream_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf)) : GST_BUFFER_PTS(buf);
        pts = GST_CLOCK_TIME_IS_VALID(st) ? (int64_t)st : -1;
      }
      int64_t dur = GST_BUFFER_DURATION_IS_VALID(buf) ? (int64_t)GST_BUFFER_DURATION(buf) : -1;
      uint32_t len = (uint32_t)map.size;
      ok = write_all("B", 1) && write_all(&pts, 8) && write_all(&dur, 8) && write_all(&len, 4) &&
           write_all(map.data, map.size);
      gst_buffer_unmap(buf, &map);
    }
  }
  gst_sample_unref(sample);
  /* The reader went away: stop instead of decoding into a closed pipe. */
  return ok ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static gboolean read_all(void *p, size_t n) {
  return fread(p, 1, n, stdin) == n;
}

/* Reads records from stdin into the appsrc until EOF; runs on its own thread. */
static gpointer feed_appsrc(gpointer user) {
  GstAppSrc *src = user;
  for (;;) {
    char tag;
    if (!read_all(&tag, 1)) break;
    if (tag == 'C') {
      uint32_t len;
      if (!read_all(&len, 4) || len > (1u << 16)) goto bad;
      gchar *s = g_malloc(len + 1);
      if (!read_all(s, len)) { g_free(s); goto bad; }
      s[len] = 0;
      GstCaps *caps = gst_caps_from_string(s);
      g_free(s);
      if (!caps) goto bad;
      gst_app_src_set_caps(src, caps);
      gst_caps_unref(caps);
    } else if (tag == 'B') {
      int64_t pts, dur;
      uint32_t len;
      if (!read_all(&pts, 8) || !read_all(&dur, 8) || !read_all(&len, 4) || len > (256u << 20)) goto bad;
      GstBuffer *buf = gst_buffer_new_allocate(NULL, len, NULL);
      GstMapInfo map;
      gst_buffer_map(buf, &map, GST_MAP_WRITE);
      gboolean ok = read_all(map.data, len);
      gst_buffer_unmap(buf, &map);
      if (!ok) { gst_buffer_unref(buf); goto bad; }
      if (pts >= 0) GST_BUFFER_PTS(buf) = (GstClockTime)pts;
      if (dur >= 0) GST_BUFFER_DURATION(buf) = (GstClockTime)dur;
      if (gst_app_src_push_buffer(src, buf) != GST_FLOW_OK) return NULL;
    } else goto bad;
  }
  gst_app_src_end_of_stream(src);
  return NULL;
bad:
  /* A torn or malformed record: fail the pipeline rather than encode a partial frame. */
  GST_ELEMENT_ERROR(src, STREAM, DECODE, ("malformed input record on stdin"), (NULL));
  return NULL;
}

static gboolean wait_preroll(GstBus *bus) {
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  gboolean ok = GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ERROR;
  if (!ok) report_error(msg);
  gst_message_unref(msg);
  return ok;
}

int main(int argc, char **argv) {
  gint64 start = -1, stop = -1;
  int i = 1;
  gst_init(&argc, &argv);
  /* A raw 1080p frame is 3 MB: with the default 64 KB pipes it would cross in ~50
   * wake-ups each way. Larger pipes (best effort; the kernel may cap them) cut that. */
#ifdef F_SETPIPE_SZ
  fcntl(0, F_SETPIPE_SZ, 4 << 20);
  fcntl(1, F_SETPIPE_SZ, 4 << 20);
#endif
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--start") == 0 && i + 1 < argc) start = g_ascii_strtoll(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--stop") == 0 && i + 1 < argc) stop = g_ascii_strtoll(argv[++i], NULL, 10);
    else break;
  }
  if (i >= argc) {
    fprintf(stderr, "gst-run: error: usage: gst-run [--start NS] [--stop NS] PIPELINE...\n");
    return 3;
  }
  GError *err = NULL;
  /* One argument: a whole description, quoting as written. Several: gst-launch style. */
  GstElement *pipeline = i == argc - 1 ? gst_parse_launch(argv[i], &err) : gst_parse_launchv((const gchar **)&argv[i], &err);
  if (!pipeline || err) {
    fprintf(stderr, "gst-run: error: cannot build pipeline: %s\n", err ? err->message : "unknown");
    return 3;
  }
  GstBus *bus = gst_element_get_bus(pipeline);
  GstCaps *last_caps = NULL;
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  if (sink) {
    GstAppSinkCallbacks cb = { .new_sample = on_sample };
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, &last_caps, NULL);
  }
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "in");

  if (start >= 0 || stop >= 0) {
    if (gst_element_set_state(pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE || !wait_preroll(bus)) {
      fprintf(stderr, "gst-run: error: pipeline failed before the seek\n");
      gst_element_set_state(pipeline, GST_STATE_NULL);
      return 2;
    }
    /* ACCURATE: decoders drop the frames between the keyframe and the start, so the
     * first frame out is the first one at or after the requested position. */
    if (!gst_element_seek(pipeline, 1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE,
            GST_SEEK_TYPE_SET, start >= 0 ? start : 0,
            stop >= 0 ? GST_SEEK_TYPE_SET : GST_SEEK_TYPE_NONE, stop >= 0 ? stop : 0)) {
      fprintf(stderr, "gst-run: error: the media refused a seek to %" G_GINT64_FORMAT " ns\n", start);
      gst_element_set_state(pipeline, GST_STATE_NULL);
      return 2;
    }
  }
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (msg) { report_error(msg); gst_message_unref(msg); }
    else fprintf(stderr, "gst-run: error: pipeline refused to start\n");
    gst_element_set_state(pipeline, GST_STATE_NULL);
    return 2;
  }
  if (src) g_thread_unref(g_thread_new("feed", feed_appsrc, src));

  int code = 0;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_WARNING) {
      GError *w = NULL;
      gst_message_parse_warning(msg, &w, NULL);
      fprintf(stderr, "gst-run: warning: %s: %s\n", GST_OBJECT_NAME(msg->src), w ? w->message : "");
      g_clear_error(&w);
      gst_message_unref(msg);
      continue;
    }
    if (type == GST_MESSAGE_ERROR) { report_error(msg); code = 2; }
    gst_message_unref(msg);
    break;
  }
  fflush(stdout);
  /* Exit without tearing the pipeline down: a stuck hardware element must not turn a
   * finished job into a hang, and the OS frees everything anyway. */
  _exit(code);
}
