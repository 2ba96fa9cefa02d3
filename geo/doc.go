// Package geo holds beatgrid's geometry, as pure functions on orb types: no files, network,
// HTTP or database (decoders read an io.Reader the caller opens).
//
//   - Validation of what comes in: [ValidateArea], [ValidateLine], [ValidPoint], [InRegion].
//     Errors are *[Error] values whose Path is a JSON pointer below the geometry.
//   - CRS: [FromGCJ02], [ToGCJ02], [ToWGS84] for terminals that report GCJ-02.
//   - Coverage cells: Web Mercator tiles packed in a 64-bit [Cell] key whose order nests tiles
//     (see the Cell comment for the bit layout); [CellAt], [Cover] for beats.
//   - Tracks: [Fix], [Filter] (drops bad fixes and counts them), [Rasterize] (the cells a track
//     passes through, with entry times), [Stats].
//   - Geofences and routes: [Distance], [WithinRadius], [DistanceToLine], [RouteAdherence],
//     [Snap].
//   - Track files: [ParseGPX], [ParseCSV].
//
// Positions are orb.Points, [lon, lat] in WGS84 degrees (RFC 7946); distances are metres on a
// sphere of radius orb.EarthRadius (haversine); times are time.Time.
package geo
