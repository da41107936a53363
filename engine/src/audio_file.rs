//! Audio file decoding (symphonia): WAV, AIFF, FLAC, MP3, OGG Vorbis to interleaved f32.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::error::EngineError;

/// Decoded audio.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Interleaved samples, full scale 1.0.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: usize,
}

impl DecodedAudio {
    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / self.sample_rate as f64
    }
}

/// A streaming decoder: yields interleaved f32 packets, so long files never sit in memory whole.
pub struct AudioReader {
    path: std::path::PathBuf,
    format: Box<dyn symphonia::core::formats::FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    track_id: u32,
    buf: Option<SampleBuffer<f32>>,
    /// Sample rate in Hz (from the container; updated by the first packet if it differs).
    pub sample_rate: u32,
    /// Channel count.
    pub channels: usize,
    /// Frames in the file, when the container says.
    pub n_frames: Option<u64>,
}

impl AudioReader {
    /// Opens `path` and prepares the decoder of its first audio track.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        let err = |reason: String| EngineError::Audio {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| err(format!("unrecognised or unsupported format ({e})")))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| err("no audio track".into()))?;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| err(format!("unsupported codec ({e})")))?;
        let sample_rate = track.codec_params.sample_rate.unwrap_or(0);
        let channels = track.codec_params.channels.map_or(0, |c| c.count());
        let n_frames = track.codec_params.n_frames;
        let track_id = track.id;
        Ok(Self {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            buf: None,
            sample_rate,
            channels,
            n_frames,
        })
    }

    /// Decodes the next packet into `out` (cleared first). Returns `false` at the end of the
    /// stream. Corrupt packets are skipped; other errors are returned.
    pub fn next_packet(&mut self, out: &mut Vec<f32>) -> Result<bool, EngineError> {
        out.clear();
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(false)
                }
                Err(SymError::ResetRequired) => return Ok(false),
                Err(e) => return Err(self.err(e.to_string())),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(decoded) => {
                    let spec = *decoded.spec();
                    self.sample_rate = spec.rate;
                    self.channels = spec.channels.count();
                    let need = decoded.capacity();
                    let b = match &mut self.buf {
                        Some(b) if b.capacity() >= need * self.channels => b,
                        _ => self.buf.insert(SampleBuffer::new(need as u64, spec)),
                    };
                    b.copy_interleaved_ref(decoded);
                    out.extend_from_slice(b.samples());
                    if !out.is_empty() {
                        return Ok(true);
                    }
                }
                Err(SymError::DecodeError(_)) => continue,
                Err(e) => return Err(self.err(e.to_string())),
            }
        }
    }

    fn err(&self, reason: String) -> EngineError {
        EngineError::Audio {
            path: self.path.clone(),
            reason,
        }
    }
}

/// Decodes the whole first audio track of `path` into memory.
pub fn decode(path: &Path) -> Result<DecodedAudio, EngineError> {
    let mut r = AudioReader::open(path)?;
    let mut samples = Vec::new();
    let mut packet = Vec::new();
    while r.next_packet(&mut packet)? {
        samples.extend_from_slice(&packet);
    }
    if r.sample_rate == 0 || r.channels == 0 {
        return Err(r.err("no decodable audio".into()));
    }
    Ok(DecodedAudio {
        samples,
        sample_rate: r.sample_rate,
        channels: r.channels,
    })
}
