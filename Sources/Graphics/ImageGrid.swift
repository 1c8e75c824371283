import Engine

/// Pictures in rows and columns, each with a caption under it, and an optional title: samples
/// from a sampler, a negative-prompt sweep, a batch of tensors.
///
/// ```swift
/// var grid = ImageGrid(columns: 4, scale: 8, title: "κ = 4.5")
/// try grid.add(batch: x0, captions: prompts)      // x0: [B, 3, 16, 16] in [-1, 1]
/// try grid.savePNG(to: "samples.png")
/// ```
///
/// Every cell is as large as the largest picture times `scale` (nearest-neighbour upscaling, so a
/// 16×16 sample at `scale: 8` fills 128×128 with crisp pixels); smaller pictures are centred in
/// their cell. Captions are wrapped to the cell width and cut with `…` after `captionLines` lines.
public struct ImageGrid {
    /// Cells per row; fewer when there are fewer pictures.
    public var columns: Int
    /// Whole-number upscaling factor (≥ 1).
    public var scale: Int
    public var title: String
    /// Lines of caption text under each picture.
    public var captionLines: Int = 2
    /// The font file for all text; a missing file falls back to the built-in bitmap font.
    public var fontPath: String = Font.defaultPath
    public private(set) var images: [Image] = []
    public private(set) var captions: [String] = []

    public init(columns: Int, scale: Int = 1, title: String = "") {
        self.columns = columns
        self.scale = scale
        self.title = title
    }

    public mutating func add(_ image: Image, caption: String = "") {
        images.append(image)
        captions.append(caption)
    }

    /// Adds a picture tensor: `[3, H, W]`, `[4, H, W]`, `[1, H, W]` or `[H, W]`.
    public mutating func add(_ tensor: Tensor, caption: String = "", range: PixelRange = .minusOneToOne) throws {
        add(try Image(tensor: tensor, range: range), caption: caption)
    }

    /// Adds every picture of a batch `[B, C, H, W]`, captioned in order (missing captions empty).
    public mutating func add(batch: Tensor, captions: [String] = [], range: PixelRange = .minusOneToOne) throws {
        let batchImages = try Image.images(fromBatch: batch, range: range)
        guard captions.count <= batchImages.count else {
            throw GraphicsError.invalidArgument(function: "ImageGrid.add(batch:)",
                reason: "\(captions.count) captions for \(batchImages.count) pictures")
        }
        for (index, image) in batchImages.enumerated() {
            add(image, caption: index < captions.count ? captions[index] : "")
        }
    }

    /// The grid's geometry, as `render()` draws it.
    public func layout() throws -> GridLayout {
        try layout(captionFont: Font(path: fontPath, pixelSize: GridLayout.captionSize),
                   titleFont: Font(path: fontPath, pixelSize: GridLayout.titleSize))
    }

    /// Draws the title, then each picture and its caption, row by row, on white.
    public func render() throws -> Image {
        let captionFont = Font(path: fontPath, pixelSize: GridLayout.captionSize)
        let titleFont = Font(path: fontPath, pixelSize: GridLayout.titleSize)
        let layout = try layout(captionFont: captionFont, titleFont: titleFont)
        var canvas = try Canvas(width: layout.width, height: layout.height)
        if !title.isEmpty {
            let fitted = titleFont.truncate(title, width: layout.width - 2 * GridLayout.padding)
            canvas.drawText(fitted, at: Point(x: Double(layout.width) / 2, y: Double(GridLayout.padding)),
                            font: titleFont, alignment: .topCenter)
        }
        for (index, image) in images.enumerated() {
            let cell = layout.cellOrigin(index)
            let x = cell.x + (layout.cellWidth - image.width * scale) / 2
            let y = cell.y + (layout.cellHeight - image.height * scale) / 2
            canvas.draw(image, x: x, y: y, scale: scale)
            let lines = captionFont.wrap(captions[index], width: layout.cellWidth, maxLines: captionLines)
            for (line, text) in lines.enumerated() {
                let top = cell.y + layout.cellHeight + GridLayout.captionGap + line * captionFont.lineHeight
                canvas.drawText(text, at: Point(x: Double(cell.x) + Double(layout.cellWidth) / 2, y: Double(top)),
                                font: captionFont, color: .ink, alignment: .topCenter)
            }
        }
        return canvas.image
    }

    /// Renders and writes the grid as a PNG (atomically, see `PNG.write`).
    public func savePNG(to path: String) throws {
        try PNG.write(render(), to: path)
    }

    private func layout(captionFont: Font, titleFont: Font) throws -> GridLayout {
        guard !images.isEmpty else {
            throw GraphicsError.invalidArgument(function: "ImageGrid", reason: "the grid has no pictures")
        }
        guard columns >= 1, scale >= 1, captionLines >= 0 else {
            throw GraphicsError.invalidArgument(function: "ImageGrid",
                reason: "columns \(columns), scale \(scale) and captionLines \(captionLines) must be ≥ 1, ≥ 1, ≥ 0")
        }
        let columnCount = Swift.min(columns, images.count)
        let hasCaptions = captionLines > 0 && captions.contains { !$0.isEmpty }
        let layout = GridLayout(
            rows: (images.count + columnCount - 1) / columnCount,
            columns: columnCount,
            cellWidth: images.map(\.width).max()! * scale,
            cellHeight: images.map(\.height).max()! * scale,
            captionHeight: hasCaptions ? GridLayout.captionGap + captionLines * captionFont.lineHeight : 0,
            titleHeight: title.isEmpty ? 0 : titleFont.lineHeight + GridLayout.padding)
        try Image.checkSize(width: layout.width, height: layout.height, function: "ImageGrid")
        return layout
    }
}

/// The geometry of an `ImageGrid`, in pixels:
/// `width = columns·cellWidth + (columns + 1)·padding`,
/// `height = titleHeight + rows·(cellHeight + captionHeight) + (rows + 1)·padding`.
public struct GridLayout: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    /// The picture area of a cell: the largest picture times the scale.
    public let cellWidth: Int
    public let cellHeight: Int
    /// Room for the captions under each picture; 0 when no picture has one.
    public let captionHeight: Int
    /// Room for the title above the grid; 0 without one.
    public let titleHeight: Int

    /// Space around and between cells.
    public static let padding = 8
    /// Space between a picture and its caption.
    public static let captionGap = 4
    static let captionSize = 12
    static let titleSize = 16

    public var width: Int { columns * cellWidth + (columns + 1) * GridLayout.padding }
    public var height: Int { titleHeight + rows * (cellHeight + captionHeight) + (rows + 1) * GridLayout.padding }

    /// Top-left pixel of the picture area of cell `index` (row-major: left to right, then down).
    public func cellOrigin(_ index: Int) -> (x: Int, y: Int) {
        let row = index / columns
        let column = index % columns
        return (GridLayout.padding + column * (cellWidth + GridLayout.padding),
                titleHeight + GridLayout.padding + row * (cellHeight + captionHeight + GridLayout.padding))
    }
}
