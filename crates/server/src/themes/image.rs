//! Image type by magic bytes (never by file name or declared type) and pixel size from the
//! header, for the three formats theme backgrounds may use.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub mime: &'static str,
    /// Present when the header could be read.
    pub size: Option<(u32, u32)>,
}

pub const PNG: &str = "image/png";
pub const JPEG: &str = "image/jpeg";
pub const WEBP: &str = "image/webp";

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}
fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

pub fn detect(bytes: &[u8]) -> Option<ImageInfo> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let size = (bytes.get(12..16) == Some(b"IHDR"))
            .then(|| Some((be32(bytes, 16)?, be32(bytes, 20)?)))
            .flatten();
        return Some(ImageInfo { mime: PNG, size });
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageInfo {
            mime: JPEG,
            size: jpeg_size(bytes),
        });
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(ImageInfo {
            mime: WEBP,
            size: webp_size(bytes),
        });
    }
    None
}

/// Walks the JPEG segments up to the first start-of-frame marker.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        while *b.get(at)? != 0xFF {
            at += 1;
        }
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => continue,
            // End of image or start of scan: no frame header seen.
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(b, at + 3)?;
                let width = be16(b, at + 5)?;
                return Some((width, height));
            }
            _ => {
                let len = be16(b, at)? as usize;
                if len < 2 {
                    return None;
                }
                at += len;
            }
        }
    }
}

fn webp_size(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            if b.get(23..26)? != [0x9d, 0x01, 0x2a] {
                return None;
            }
            Some((le16(b, 26)? & 0x3fff, le16(b, 28)? & 0x3fff))
        }
        b"VP8L" => {
            if *b.get(20)? != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
pub mod samples {
    //! Minimal headers of each format, enough for detection and size reading.

    pub fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        b
    }

    pub fn webp_lossy(width: u16, height: u16) -> Vec<u8> {
        let mut b = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00".to_vec();
        b.extend_from_slice(&[0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a]);
        b.extend_from_slice(&width.to_le_bytes());
        b.extend_from_slice(&height.to_le_bytes());
        b.extend_from_slice(&[0; 14]);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_recognised_with_its_size() {
        assert_eq!(
            detect(&samples::png(640, 480)),
            Some(ImageInfo {
                mime: PNG,
                size: Some((640, 480))
            })
        );
        assert_eq!(
            detect(&samples::jpeg(1920, 1080)),
            Some(ImageInfo {
                mime: JPEG,
                size: Some((1920, 1080))
            })
        );
        assert_eq!(
            detect(&samples::webp_lossy(800, 600)),
            Some(ImageInfo {
                mime: WEBP,
                size: Some((800, 600))
            })
        );
    }

    #[test]
    fn other_content_is_rejected_whatever_it_claims() {
        assert_eq!(detect(b"GIF89a\x01\x00\x01\x00"), None);
        assert_eq!(detect(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(detect(b""), None);
        // A truncated PNG is still a PNG, just without a size.
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n").map(|i| i.size), Some(None));
    }
}
